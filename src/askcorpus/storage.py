"""Index folder format: crash-safe generations, a checksummed manifest, and a build lock.

Layout (RELIABILITY.md, "Index folder format")::

    INDEX/CURRENT            the name of the generation being served, e.g. "gen-000042"
    INDEX/gen-000042/        documents.jsonl, passages.jsonl, catalog.json, vectors.faiss,
                             bm25/*, manifest.json (written last)
    INDEX/.lock              held while a build runs

A build writes ``gen-tmp-<random>/``, fsyncs every file, writes the manifest last, renames
the folder to its final name, then atomically replaces ``CURRENT``. A crash at any moment
leaves the previous generation answering.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from askcorpus.errors import (
    BuildLockedError,
    CorruptIndexError,
    IncompleteIndexError,
    IndexNotFoundError,
    IndexVersionError,
)
from askcorpus.hashing import sha256_file

FORMAT_VERSION = 2  # 2: one vector artifact (vectors.faiss) and the ann parameters
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
_GENERATION = re.compile(r"^gen-(\d{6})$")


def write_bytes(path: Path, data: bytes) -> None:
    """Write and fsync a file through ``os.write`` (so tests can inject I/O errors)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a folder: so a rename in it survives)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rebuild_hint(index_dir: Path) -> str:
    """The fix for a damaged or outdated index, naming the folder the user actually used."""
    return f"rebuild it with `askcorpus build --index {index_dir}`"


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's build lock; a second concurrent build fails at once with a clear error."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BuildLockedError(f"Another build of {index_dir} is running; wait for it to "
                                       "finish, then try again.") from exc
            raise
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def new_generation(index_dir: Path) -> Iterator[Path]:
    """A temporary generation folder; removed if the body raises, kept for ``publish`` if not."""
    staging = index_dir / f"gen-tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_manifest(staging: Path, manifest: dict[str, Any], *, unchecked: str | None = None
                   ) -> None:
    """Record checksums of every artifact, then write the manifest last.

    ``unchecked`` names a top-level folder that a store owns and rewrites itself (milvus-lite);
    the manifest says how that store is verified instead.
    """
    artifacts = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = path.relative_to(staging).as_posix()
        if unchecked is not None and rel.split("/", 1)[0] == unchecked:
            continue
        artifacts[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    body = {**manifest, "format_version": FORMAT_VERSION, "artifacts": artifacts}
    write_bytes(staging / MANIFEST, json.dumps(body, indent=2, sort_keys=True).encode())
    for folder in sorted({p.parent for p in staging.rglob("*")} | {staging}):
        fsync_path(folder)


def publish(index_dir: Path, staging: Path) -> Path:
    """Rename the staging folder to the next generation and point ``CURRENT`` at it.

    If any step fails (disk full, I/O error), ``CURRENT`` is put back to the generation it
    named before and the new generation is removed, so a failed build changes nothing.
    """
    final = index_dir / f"gen-{next_generation_number(index_dir):06d}"
    previous = _pointer(index_dir)
    os.replace(staging, final)
    try:
        fsync_path(index_dir)
        _point(index_dir, final.name)
    except BaseException:
        _roll_back(index_dir, final, previous)
        raise
    return final


def _pointer(index_dir: Path) -> str | None:
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _point(index_dir: Path, name: str) -> None:
    """Atomically make ``CURRENT`` name ``name``: write a temp file, fsync, rename, fsync."""
    pointer = index_dir / f"{CURRENT}.tmp"
    write_bytes(pointer, name.encode())
    os.replace(pointer, index_dir / CURRENT)
    fsync_path(index_dir)


def _roll_back(index_dir: Path, final: Path, previous: str | None) -> None:
    """Best effort after a failed publish: the old pointer back, the new generation gone."""
    with contextlib.suppress(OSError):
        (index_dir / f"{CURRENT}.tmp").unlink(missing_ok=True)
    if _pointer(index_dir) == final.name:
        with contextlib.suppress(OSError):
            if previous is not None and _GENERATION.match(previous):
                _point(index_dir, previous)
            else:
                (index_dir / CURRENT).unlink()
    if _pointer(index_dir) != final.name:
        shutil.rmtree(final, ignore_errors=True)


def remove_old_generations(index_dir: Path, keep: str) -> None:
    """Delete every generation but ``keep``, and leftovers of interrupted builds."""
    for child in index_dir.iterdir():
        if child.is_dir() and child.name != keep and (
                _GENERATION.match(child.name) or child.name.startswith("gen-tmp-")):
            shutil.rmtree(child, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (index_dir / f"{CURRENT}.tmp").unlink()


def next_generation_number(index_dir: Path) -> int:
    numbers = [int(m.group(1)) for c in index_dir.iterdir() if (m := _GENERATION.match(c.name))]
    return max(numbers, default=0) + 1


def current_generation(index_dir: Path) -> Path:
    """The generation folder ``CURRENT`` names, or a typed error saying what to run."""
    if not index_dir.is_dir():
        raise IndexNotFoundError(f"No index at {index_dir}; run `askcorpus build --index "
                                 f"{index_dir}` first.")
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IncompleteIndexError(f"{index_dir} holds no complete index (no CURRENT file); "
                                   f"run `askcorpus build --index {index_dir}`.")
    name = pointer.read_text(encoding="utf-8", errors="replace").strip()
    if not _GENERATION.match(name) or not (index_dir / name).is_dir():
        raise IncompleteIndexError(f"{index_dir}/CURRENT names '{name[:40]}', which is not a "
                                   f"generation folder; run `askcorpus build --index {index_dir}`.")
    return index_dir / name


def read_manifest(generation: Path) -> dict[str, Any]:
    """The manifest, checked for format version and for every artifact's size and SHA-256."""
    path = generation / MANIFEST
    if not path.is_file():
        raise IncompleteIndexError(f"{generation} has no {MANIFEST} (a half-written index); "
                                   f"{rebuild_hint(generation.parent)}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"{path} is not valid JSON; {rebuild_hint(generation.parent)}.") \
            from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format_version"), int):
        raise CorruptIndexError(f"{path} has no format_version; "
                                f"{rebuild_hint(generation.parent)}.")
    if manifest["format_version"] > FORMAT_VERSION:
        raise IndexVersionError(f"{generation} was written by a newer askcorpus (format "
                                f"{manifest['format_version']} > {FORMAT_VERSION}); upgrade "
                                "askcorpus or rebuild the index.")
    unknown = set(manifest.get("required_features", [])) - set()
    if unknown:
        raise IndexVersionError(f"{generation} needs features this askcorpus lacks "
                                f"({', '.join(sorted(unknown))}); upgrade askcorpus.")
    _verify_artifacts(generation, manifest.get("artifacts", {}))
    return manifest


def _verify_artifacts(generation: Path, artifacts: dict[str, Any]) -> None:
    if not artifacts:
        raise CorruptIndexError(f"{generation}/{MANIFEST} lists no artifacts; "
                                f"{rebuild_hint(generation.parent)}.")
    for rel, expected in sorted(artifacts.items()):
        path = generation / rel
        if not path.is_file():
            raise CorruptIndexError(f"{path} is missing; {rebuild_hint(generation.parent)}.")
        if path.stat().st_size != expected.get("size") or sha256_file(path) != expected.get(
                "sha256"):
            raise CorruptIndexError(f"{path}: checksum mismatch (the file was changed or "
                                    f"damaged); {rebuild_hint(generation.parent)}.")
