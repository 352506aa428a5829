"""Count the lines, words and bytes of a text file: a Taskboard processor from another package."""

from __future__ import annotations

from pathlib import Path

from tasks import registry
from tasks.formats.binary import read_chunks
from tasks.progress import Progress


@registry.processor(
    "wordcount",
    title="Count words",
    unit="bytes",
    accepts=[".txt", ".md", ".log"],
    options={
        "min_length": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 1,
            "description": "Count only words at least this long.",
        }
    },
    # Not the default (tasks.wordcount.wordcount): this package's own name, so it cannot
    # collide with a module Taskboard adds later.
    task_name="taskboard_wordcount.count",
)
def count(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Count lines, words of at least ``min_length`` characters and bytes, reporting bytes."""
    progress.total = src.stat().st_size
    lines = words = 0
    tail = b""
    with open(src, "rb") as f:
        for chunk in read_chunks(f):
            lines += chunk.count(b"\n")
            # A word may straddle two chunks: carry the unfinished one over.
            parts = (tail + chunk).split()
            tail = parts.pop() if parts and not chunk[-1:].isspace() else b""
            words += sum(len(p) >= options["min_length"] for p in parts)
            progress.advance(len(chunk))
    words += len(tail) >= options["min_length"] if tail else 0
    return {"lines": lines, "words": words, "bytes": progress.total}
