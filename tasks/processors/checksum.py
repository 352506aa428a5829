"""Checksums of a file, streamed: SHA-256 by default, any of hashlib's guaranteed algorithms."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tasks import registry
from tasks.formats import binary
from tasks.progress import Progress

# hashlib.algorithms_guaranteed, less the SHAKE variants whose digest needs a length.
ALGORITHMS = sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))


@registry.processor(
    "checksum",
    title="Checksum",
    unit="bytes",
    options={
        "algorithms": {
            "type": "array",
            "items": {"enum": ALGORITHMS},
            "minItems": 1,
            "maxItems": len(ALGORITHMS),
            "uniqueItems": True,
            "default": ["sha256"],
            "description": "Hash algorithms to compute.",
        }
    },
)
def compute(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Hash the file with every requested algorithm in one pass."""
    names = list(dict.fromkeys(options.get("algorithms", ["sha256"])))
    hashers = {name: hashlib.new(name) for name in names}
    progress.total = src.stat().st_size
    with open(src, "rb") as f:
        for chunk in binary.read_chunks(f):
            for h in hashers.values():
                h.update(chunk)
            progress.advance(len(chunk), message="hashing")
    return {"size": progress.total, "digests": {n: h.hexdigest() for n, h in hashers.items()}}
