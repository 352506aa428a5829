"""Where a job's files live: its folder under ``UPLOAD_DIR``, its input, its outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks import settings

# The folder of UPLOAD_DIR where uploads are received, before they are claimed by a job.
INCOMING = ".incoming"


def job_dir(job_id: str, root: Path | None = None) -> Path:
    """Return the folder that holds one job's upload and outputs."""
    return (root or settings.UPLOAD_DIR) / job_id


def input_path(job_id: str, root: Path | None = None) -> Path:
    """Return where a job's uploaded file is kept (never under the client's name)."""
    return job_dir(job_id, root) / "input"


def output_dir(job_id: str, root: Path | None = None) -> Path:
    """Return the folder a job writes its output files into."""
    return job_dir(job_id, root) / "output"


def clear_outputs(job_id: str, root: Path | None = None) -> None:
    """Remove whatever a job wrote, finished or partial."""
    shutil.rmtree(output_dir(job_id, root), ignore_errors=True)


def remove_job(job_id: str, root: Path | None = None) -> None:
    """Remove a job's folder: its upload and its outputs."""
    shutil.rmtree(job_dir(job_id, root), ignore_errors=True)


def stem(name: str) -> str:
    """Return a file name without its last extension (the name downloads are named after)."""
    base, dot, _ = name.rpartition(".")
    return base if dot and base else name
