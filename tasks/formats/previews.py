"""Small previews of a job's images, kept beside its output for the job page to show.

Each preview is a small copy (at most :data:`SIDE` pixels a side) of one image's smallest
thumbnail, written as ``previews/NN.<ext>`` in the job's output folder; at most :data:`MOST`
per job. The result lists them with the name of the thumbnail they show.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

SIDE = 256
MOST = 24
FOLDER = "previews"
SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
# What may not be in a name inside a zip or a download: path separators and control characters.
UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]+")
NAME_CHARS = 100


def safe_stem(name: str | None, fallback: str) -> str:
    """Return an uploaded file's name without folders or extension, fit for naming outputs."""
    if not name:
        return fallback
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.rpartition(".")
    stem = UNSAFE.sub("_", stem if dot and stem else base).strip(" .")[:NAME_CHARS]
    return stem or fallback


class Previews:
    """Write previews into an output folder and list them for the result."""

    def __init__(self, out: Path) -> None:
        self.folder = out / FOLDER
        self.listed: list[dict] = []

    def add(self, image: Image.Image, fmt: str, name: str) -> None:
        """Keep a preview of ``image`` (saved as ``fmt``) named after the thumbnail ``name``."""
        if len(self.listed) >= MOST:
            return
        small = image
        if max(image.size) > SIDE:
            small = image.copy()
            small.thumbnail((SIDE, SIDE))
        data = io.BytesIO()
        small.save(data, fmt)
        self.folder.mkdir(exist_ok=True)
        file = f"{FOLDER}/{len(self.listed) + 1:02d}{SUFFIXES[fmt]}"
        (self.folder.parent / file).write_bytes(data.getvalue())
        self.listed.append({"file": file, "name": name[:200]})
