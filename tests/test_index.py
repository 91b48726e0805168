"""The index on disk: round trip, atomic rebuilds, the manifest, a typed error per bad state."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

import askcorpus
from askcorpus import building, storage
from askcorpus.errors import (
    CorruptIndexError,
    IncompleteIndexError,
    IndexNotFoundError,
    IndexVersionError,
    ModelMismatchError,
    StaleIndexError,
)
from conftest import HASH_MODEL

QUERIES = ["river dam water", "farmers south gates", "survey rainfall", "Ortiz said"]


def _results(index: askcorpus.Index) -> list[list[tuple[str, float]]]:
    return [[(c.passage.passage_id, round(c.score, 6)) for c in index.search(q, k=5)]
            for q in QUERIES]


def _manifest_on_disk(index_dir: Path) -> dict:
    generation = (index_dir / storage.CURRENT).read_text(encoding="utf-8").strip()
    return json.loads((index_dir / generation / storage.MANIFEST).read_text(encoding="utf-8"))


def _generation(index_dir: Path) -> Path:
    return index_dir / (index_dir / storage.CURRENT).read_text(encoding="utf-8").strip()


def test_round_trip_gives_the_same_index(hash_index: askcorpus.Index) -> None:
    reopened = askcorpus.open(hash_index.index_dir)
    assert reopened.generation == hash_index.generation
    assert reopened.documents() == hash_index.documents()
    assert reopened.passages() == hash_index.passages()
    assert _results(reopened) == _results(hash_index)
    assert all(_results(reopened))
    assert [c.to_dict() for c in reopened.search("river dam", k=3)] == \
        [c.to_dict() for c in hash_index.search("river dam", k=3)]


def test_passages_of_the_index_are_verbatim(hash_index: askcorpus.Index) -> None:
    for p in hash_index.passages():
        assert hash_index.document(p.doc_id).text[p.start:p.end] == p.text


def test_rebuild_replaces_the_generation_and_leaves_no_litter(
        hash_index: askcorpus.Index, fixture_corpus: Path) -> None:
    index_dir = hash_index.index_dir
    before = _results(hash_index)
    rebuilt = askcorpus.build(fixture_corpus, index_dir, model=HASH_MODEL)
    assert rebuilt.generation != hash_index.generation
    assert _results(rebuilt) == before
    names = sorted(p.name for p in index_dir.iterdir() if p.is_dir())
    assert names == [rebuilt.generation]


def _fail_while_writing_artifacts(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    original = building.write_generation

    def write_half_then_fail(staging: Path, *args: object, **kwargs: object) -> None:
        original(staging, *args, **kwargs)
        (staging / "passages.jsonl").write_bytes(b"{\"half\": ")
        raise error

    monkeypatch.setattr(building, "write_generation", write_half_then_fail)


def _fail_while_writing_manifest(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def fail(staging: Path, manifest: dict) -> None:
        (staging / storage.MANIFEST).write_text("{", encoding="utf-8")
        raise error

    monkeypatch.setattr(storage, "write_manifest", fail)


@pytest.mark.parametrize("inject", [_fail_while_writing_artifacts, _fail_while_writing_manifest])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_interrupted_build_keeps_the_previous_index(
        hash_index: askcorpus.Index, fixture_corpus: Path, monkeypatch: pytest.MonkeyPatch,
        inject, error: BaseException) -> None:
    index_dir = hash_index.index_dir
    before = _results(hash_index)
    current = (index_dir / storage.CURRENT).read_text(encoding="utf-8")
    inject(monkeypatch, error)
    # A disk error may surface as itself or as a typed AskcorpusError; an interrupt stays one.
    expected = (OSError, askcorpus.AskcorpusError) if isinstance(error, OSError) else type(error)
    with pytest.raises(expected):
        askcorpus.build(fixture_corpus, index_dir, model=HASH_MODEL)
    monkeypatch.undo()
    assert (index_dir / storage.CURRENT).read_text(encoding="utf-8") == current
    assert not list(index_dir.glob("gen-tmp-*"))
    survivor = askcorpus.open(index_dir)
    assert survivor.generation == hash_index.generation
    assert _results(survivor) == before
    # The lock was released: the next build succeeds and is the only generation left.
    rebuilt = askcorpus.build(fixture_corpus, index_dir, model=HASH_MODEL)
    assert _results(rebuilt) == before
    assert sorted(p.name for p in index_dir.iterdir() if p.is_dir()) == [rebuilt.generation]


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_stale_corpus_is_detected_and_names_the_file(
        hash_index: askcorpus.Index, fixture_corpus: Path, change: str) -> None:
    target = {"edit": "wire.txt", "add": "late.txt", "remove": "south.txt"}[change]
    path = fixture_corpus / target
    if change == "remove":
        path.unlink()
    else:
        path.write_text("A new report arrived after the build.\n", encoding="utf-8")
    with pytest.raises(StaleIndexError) as caught:
        askcorpus.open(hash_index.index_dir)
    message = str(caught.value)
    assert target in message
    assert "askcorpus build" in message
    assert hash_index.changed_files() == [target]
    # Asked explicitly, a stale index still opens (e.g. for `askcorpus status`).
    assert askcorpus.open(hash_index.index_dir, check_stale=False).passages()


def test_unchanged_corpus_is_not_stale(hash_index: askcorpus.Index, fixture_corpus: Path) -> None:
    (fixture_corpus / "wire.txt").touch()  # a new mtime, the same bytes
    assert askcorpus.open(hash_index.index_dir).changed_files() == []


def test_model_mismatch_is_refused(hash_index: askcorpus.Index) -> None:
    with pytest.raises(ModelMismatchError) as caught:
        askcorpus.open(hash_index.index_dir, model="other")
    assert "other" in str(caught.value)
    assert HASH_MODEL in str(caught.value)
    assert askcorpus.open(hash_index.index_dir, model=HASH_MODEL).generation == \
        hash_index.generation


def test_missing_index_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError) as caught:
        askcorpus.open(tmp_path / "no-index-here")
    assert "askcorpus build" in str(caught.value)


def test_folder_without_current_is_incomplete(tmp_path: Path) -> None:
    (tmp_path / "empty-index").mkdir()
    with pytest.raises(IncompleteIndexError, match="askcorpus build"):
        askcorpus.open(tmp_path / "empty-index")


def test_missing_manifest_is_incomplete(hash_index: askcorpus.Index) -> None:
    (_generation(hash_index.index_dir) / storage.MANIFEST).unlink()
    with pytest.raises(IncompleteIndexError, match="askcorpus build"):
        askcorpus.open(hash_index.index_dir)


@pytest.mark.parametrize("artifact", ["passages.jsonl", "documents.jsonl", "vectors.faiss"])
def test_truncated_artifact_is_corrupt(hash_index: askcorpus.Index, artifact: str) -> None:
    path = _generation(hash_index.index_dir) / artifact
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptIndexError) as caught:
        askcorpus.open(hash_index.index_dir)
    assert artifact in str(caught.value)


def test_newer_format_version_is_refused(hash_index: askcorpus.Index) -> None:
    path = _generation(hash_index.index_dir) / storage.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = storage.FORMAT_VERSION + 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexVersionError, match="newer askcorpus"):
        askcorpus.open(hash_index.index_dir)


def test_manifest_records_what_built_the_index(hash_index: askcorpus.Index,
                                               fixture_corpus: Path) -> None:
    manifest = _manifest_on_disk(hash_index.index_dir)
    body = {k: v for k, v in manifest.items() if k not in ('format_version', 'artifacts')}
    assert body == hash_index.manifest.to_dict()
    assert manifest["format_version"] == storage.FORMAT_VERSION
    assert manifest["model"]["name"] == HASH_MODEL
    assert manifest["model"]["dim"] == 64
    files = {f["path"]: f for f in manifest["corpus"]["files"]}
    assert sorted(files) == ["catalog.toml", "north.txt", "south.txt", "wire.txt"]
    for rel, f in files.items():
        assert f["sha256"] == hashlib.sha256((fixture_corpus / rel).read_bytes()).hexdigest()
    assert manifest["counts"]["documents"] == 3
    assert manifest["counts"]["passages"] == len(hash_index.passages())
    assert manifest["counts"]["searchable"] == sum(
        p.kind != "footnote" for p in hash_index.passages())
    built_at = time.strptime(manifest["build"]["built_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(time.mktime(built_at) - time.mktime(time.gmtime())) < 600
    assert manifest["build"]["seconds"] >= 0
    assert manifest["askcorpus_version"] == askcorpus.__version__
    # Every artifact of the generation is listed with its checksum.
    generation = _generation(hash_index.index_dir)
    for rel, expected in manifest["artifacts"].items():
        assert hashlib.sha256((generation / rel).read_bytes()).hexdigest() == expected["sha256"]
