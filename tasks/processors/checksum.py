"""Checksums of a file, streamed: SHA-256 by default, any of hashlib's guaranteed algorithms.

With ``"parallel"`` a big file is hashed in parts on several workers (:mod:`tasks.split`). A
digest of the whole file cannot be made from parts (SHA-256 and its kind are sequential), so a
split job gives a tree digest instead, named as such: the digest of the concatenated digests of
the file's consecutive 1 MiB blocks (as S3's multipart checksums do). The block size is fixed,
so the tree digest does not depend on how many parts or workers there were; the result also
says how many blocks there were. A file that is not split gets the plain digests, as always.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tasks import registry
from tasks import split
from tasks.formats import binary
from tasks.progress import Progress

# hashlib.algorithms_guaranteed, less the SHAKE variants whose digest needs a length.
ALGORITHMS = sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))
TREE_BLOCK = 1024 * 1024


@registry.processor(
    "checksum",
    title="Checksum",
    unit="bytes",
    options=split.PARALLEL_OPTION
    | {
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
    split=split.Splitter(
        prepare=lambda src, options: {"algorithms": list(dict.fromkeys(options["algorithms"]))},
        cuts=lambda src, context, targets: [t - t % TREE_BLOCK for t in targets],
        part=lambda src, start, end, index, context, progress: hash_blocks(
            src, start, end, context["algorithms"], progress
        ),
        merge=lambda states, context: tree_digests(states, context["algorithms"]),
    ),
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


def hash_blocks(src: Path, start: int, end: int, names: list[str], progress: Progress) -> dict:
    """Return the hex digest of each 1 MiB block of a byte range (which starts on a block
    boundary), per algorithm."""
    progress.total = end - start
    digests: dict[str, list[str]] = {name: [] for name in names}
    with open(src, "rb") as f:
        f.seek(start)
        at = start
        while at < end:
            block = f.read(min(TREE_BLOCK, end - at))
            if not block:
                break
            for name in names:
                digests[name].append(hashlib.new(name, block).hexdigest())
            at += len(block)
            progress.advance(len(block), message="hashing")
    return {"size": at - start, "blocks": digests}


def tree_digests(states: list[dict], names: list[str]) -> dict:
    """Return a split job's result: per algorithm, the digest of its blocks' digests in order."""
    trees = {}
    for name in names:
        tree = hashlib.new(name)
        for state in states:
            for hexdigest in state["blocks"][name]:
                tree.update(bytes.fromhex(hexdigest))
        trees[name] = tree.hexdigest()
    blocks = sum(len(state["blocks"][names[0]]) for state in states)
    return {
        "size": sum(state["size"] for state in states),
        "tree": {"block_bytes": TREE_BLOCK, "blocks": blocks, "digests": trees},
    }
