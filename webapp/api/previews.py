"""The previews of a job's images, which the job page shows (see :mod:`tasks.formats.previews`)."""

from __future__ import annotations

import re

from flask import current_app
from flask import send_file

from tasks import files
from tasks.jobstore import state_of
from webapp.api import bp
from webapp.api.jobs import owned
from webapp.api.openapi_common import file_body
from webapp.api.openapi_common import operation
from webapp.api.openapi_common import owned_item
from webapp.api.openapi_schemas import error
from webapp.errors import ApiError

# A preview is only ever one of these files of the job's output folder.
PREVIEW_FILE = re.compile(r"previews/[0-9]{2}\.(png|jpg|webp)")
TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


@bp.get("/api/jobs/<job_id>/previews/<int:number>")
def get_preview(job_id: str, number: int):
    """Send preview ``number`` (from 1) of a finished job's result, an image."""
    record, meta = owned(job_id)
    result = (meta or {}).get("result") if state_of(meta) == "SUCCESS" else None
    listed = result.get("previews") if isinstance(result, dict) else None
    if not isinstance(listed, list) or not 1 <= number <= len(listed):
        raise ApiError(404, "no_preview", "This job has no such preview.")
    file = listed[number - 1].get("file") if isinstance(listed[number - 1], dict) else None
    found = PREVIEW_FILE.fullmatch(file or "")
    path = files.output_dir(record["id"], current_app.config["UPLOAD_DIR"]) / (file or "")
    if not found or not path.is_file():
        raise ApiError(404, "no_preview", "The preview is gone.")
    return send_file(path, mimetype=TYPES[found.group(1)], max_age=0)


def preview_paths() -> dict:
    """Return the OpenAPI paths of previews."""
    number = {
        "name": "number",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Which preview of the result's list, from 1.",
    }
    return {
        "/api/jobs/{job_id}/previews/{number}": owned_item(
            "job",
            {
                "get": operation(
                    "Get one preview image of a finished job's result.",
                    {
                        "200": file_body("The preview.", *TYPES.values()),
                        "404": error("No such job, or no such preview."),
                    },
                )
            },
            number,
        )
    }
