"""The OpenAPI description of personal API tokens (see :mod:`webapp.api.openapi`)."""

from __future__ import annotations

from webapp import tokens
from webapp.api.openapi_common import json_request
from webapp.api.openapi_common import operation
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import TIME
from webapp.api.openapi_schemas import error
from webapp.api.openapi_schemas import json_body
from webapp.api.openapi_schemas import nullable
from webapp.api.openapi_schemas import object_of

# A token's name: at least one character that is not white space (the name is kept stripped).
NAME = {"type": "string", "minLength": 1, "maxLength": tokens.NAME_MAX, "pattern": r"\S"}


def token_paths() -> dict:
    """Return the paths of personal API tokens."""
    listed = object_of(
        {"id": STRING, "name": STRING, "created_at": TIME, "last_used_at": nullable(TIME)}
    )
    session_only = error("Sent with an API token: tokens are managed from a session.")
    return {
        "/api/tokens": {
            "get": operation(
                "List the user's API tokens, without the tokens themselves.",
                {
                    "200": json_body(
                        object_of({"tokens": {"type": "array", "items": listed}}), "The tokens."
                    ),
                    "403": session_only,
                },
            ),
            "post": operation(
                "Make an API token; the answer is the only time it is shown.",
                {
                    "201": json_body(
                        object_of(
                            {"id": STRING, "token": STRING, "name": STRING, "created_at": TIME}
                        ),
                        "The new token.",
                    ),
                    "400": error("No valid CSRF token, or a bad name."),
                    "403": session_only,
                    "409": error("The user has as many tokens as allowed."),
                },
                write=True,
                requestBody=json_request(
                    object_of(
                        {"name": NAME},
                        required=[],
                    )
                    | {"additionalProperties": False},
                    required=False,
                ),
            ),
        },
        "/api/tokens/{token_id}": {
            "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": STRING}],
            "delete": operation(
                "Revoke one of the user's API tokens; close the live connections opened with it.",
                {
                    "204": {"description": "Revoked: the token no longer works."},
                    "403": session_only,
                    "404": error("No such token of this user."),
                },
                write=True,
            ),
        },
    }
