"""What the operations of the OpenAPI description share (see :mod:`webapp.api.openapi`): the
responses every operation of its kind answers, the path item of one of the user's own things,
and the bodies and parameters several routes have. Each route then states only its own."""

from __future__ import annotations

from tasks import registry
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import error

SIGN_IN = error("Not signed in (accounts mode; code login_required).")
CSRF_REFUSED = error("No valid X-CSRFToken header (code csrf_failed); nothing happened.")
# Writes carry the CSRF token of the session whose cookie they send.
WRITE = [{"csrf": []}]
BINARY = {"type": "string", "format": "binary"}
DELETED = {"description": "Deleted."}
# The size of a page of a list (jobs, batches): ?limit=N.
LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
}


def operation(
    summary: str, responses: dict, *, write: bool = False, signed_in: bool = True, **more: object
) -> dict:
    """Return an operation: its summary, its own ``responses`` over those every operation of
    its kind answers, and ``more`` fields (``parameters``, ``requestBody``).

    A write carries the session's CSRF token (``security``) and answers 400 ``csrf_failed``
    without it; an operation of a signed-in user (all but the session's and the public reads)
    answers 401 ``login_required`` in accounts mode. An operation's own 400 or 401 says more
    and replaces the common one."""
    common = ({"400": CSRF_REFUSED} if write else {}) | ({"401": SIGN_IN} if signed_in else {})
    found = {"summary": summary, "responses": by_status(common | responses)}
    return found | ({"security": WRITE} if write else {}) | more


def owned_item(noun: str, operations: dict, *more_parameters: dict) -> dict:
    """Return the path item of one of the user's own things (``noun``: job, batch, schedule),
    named by ``{<noun>_id}``: the id as a path parameter, and each operation answering 404 alike
    for an unknown one and another user's (unless its own 404 says more)."""
    not_found = error(f"No such {noun}: unknown, or another user's (answered alike).")
    item = {"parameters": [path_id(noun), *more_parameters]}
    for method, found in operations.items():
        item[method] = found | {"responses": by_status({"404": not_found} | found["responses"])}
    return item


def path_id(noun: str) -> dict:
    """Return the path parameter ``<noun>_id``, a UUID."""
    return {
        "name": f"{noun}_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
        "description": f"The {noun}'s id.",
    }


def by_status(responses: dict) -> dict:
    """Return responses ordered by their HTTP status."""
    return dict(sorted(responses.items()))


def located(response: dict, description: str) -> dict:
    """Return a response that names the new thing's URL in ``Location``."""
    return response | {"headers": {"Location": {"schema": STRING, "description": description}}}


def file_body(description: str, *media_types: str) -> dict:
    """Return a response whose body is a file of one of ``media_types``."""
    return {
        "description": description,
        "content": {kind: {"schema": BINARY} for kind in media_types},
    }


def json_request(schema: dict, required: bool = True) -> dict:
    """Return a JSON request body."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def processor_fields() -> dict:
    """Return the form fields of an upload that name its processor and options."""
    return {
        "processor": {"type": "string", "enum": sorted(registry.PROCESSORS)},
        "options": {"type": "string", "description": "The options, as a JSON object."},
    }
