"""Hashing: the package's one SHA-256 helper, for corpus fingerprints and index checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_stream(path: Path) -> tuple[str, int]:
    """The SHA-256 and the size of a file, read in 1 MiB blocks (never whole in memory)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def sha256_file(path: Path) -> str:
    return sha256_stream(path)[0]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
