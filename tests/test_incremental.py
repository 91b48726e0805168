"""Incremental builds: only edited documents are encoded again; the index answers the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus import building, cli, index_format
from askcorpus.embedding import load_encoder
from conftest import FIXTURE_CATALOG, FIXTURE_FILES, HASH_MODEL, write_corpus

QUESTIONS = ["Who designed the spillway?", "How much water did the southern farms lose?",
             "How many farms are along the river?", "Is the dam safe?"]
EDITED = ("Farmers in the south say the river dam has cut their water by two thirds. The "
          "southern council demands that the gates be opened at once. Ortiz refused.\n")


class SpyEncoder:
    """The test embedder, recording every text it is asked to encode."""

    def __init__(self) -> None:
        self.inner = load_encoder(HASH_MODEL)
        self.name, self.revision, self.dim = self.inner.name, self.inner.revision, self.inner.dim
        self.texts: list[str] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


def _answers(index: askcorpus.Index) -> list[list[str]]:
    return [[c.passage.passage_id for c in index.search(q, k=5)] for q in QUESTIONS]


def test_only_the_edited_document_is_encoded(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "corpus", FIXTURE_FILES, FIXTURE_CATALOG)
    spy = SpyEncoder()
    monkeypatch.setattr(building, "load_encoder", lambda name, batch_size=32: spy)
    first = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert spy.texts  # a first build encodes everything
    (corpus / "south.txt").write_text(EDITED, encoding="utf-8")
    todo = building.plan(first.manifest)
    assert todo.reembed == ("south.txt",) and not todo.removed and todo.unchanged >= 2

    spy.texts.clear()
    again = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    south = [p.text for p in again.passages_of("south-news")]
    assert spy.texts and set(spy.texts) <= set(south) | {
        p.text[a:b] for p in again.passages_of("south-news")
        for a, b in again.view.sentences.spans_of(again.view.row_of[p.passage_id])}
    assert not any(p.text in spy.texts for p in again.passages() if p.doc_id != "south-news")

    full = askcorpus.build(corpus, tmp_path / "full", model=HASH_MODEL)
    assert [p.to_dict() for p in again.passages()] == [p.to_dict() for p in full.passages()]
    np.testing.assert_array_equal(again.retriever.vectors, full.retriever.vectors)
    for a, b in zip((again.view.sentences.offsets, again.view.sentences.spans,
                     again.view.sentences.vectors),
                    (full.view.sentences.offsets, full.view.sentences.spans,
                     full.view.sentences.vectors), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _answers(again) == _answers(full)
    assert again.ask(QUESTIONS[1]).to_dict() == full.ask(QUESTIONS[1]).to_dict()


def test_another_model_reembeds_everything(hash_index: askcorpus.Index) -> None:
    other = load_encoder("hash:32")
    assert building.previous_vectors(hash_index.index_dir, other) is None
    same = building.previous_vectors(hash_index.index_dir, load_encoder(HASH_MODEL))
    assert same is not None and len(same.rows) == len(hash_index.passages())


def test_status_names_the_files_to_reembed(hash_index: askcorpus.Index, fixture_corpus: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    index = str(hash_index.index_dir)
    (fixture_corpus / "wire.txt").write_text("Edited after the build.\n", encoding="utf-8")
    (fixture_corpus / "north.txt").unlink()
    assert cli.main(["status", "--index", index]) == 1
    out = capsys.readouterr().out
    assert "wire.txt  (added or edited: its passages will be re-embedded)" in out
    assert "north.txt  (removed" in out and "1 unchanged file(s)" in out


def test_unchanged_documents_keep_their_passages_until_the_catalog_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "corpus", FIXTURE_FILES, FIXTURE_CATALOG)
    index_dir = tmp_path / "index"
    first = askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    split_calls: list[str] = []
    original = building.split_document

    def spy(document, *args, **kwargs):
        split_calls.append(document.doc_id)
        return original(document, *args, **kwargs)

    monkeypatch.setattr(building, "split_document", spy)
    edited = sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".md"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nOne more line was added.\n",
                      encoding="utf-8")
    second = askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    assert len(split_calls) == 1  # only the edited document was split and attributed again
    kept = {p.passage_id: p for p in first.passages() if p.doc_id != split_calls[0]}
    assert {p.passage_id: p for p in second.passages() if p.doc_id != split_calls[0]} == kept
    split_calls.clear()
    catalog = corpus / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    assert len(split_calls) == len(second.documents())  # speakers may change: all again


def _jsonl_rows(count: int) -> list[dict[str, str]]:
    """Documents of one to three paragraphs and sentences, like a generated JSONL corpus."""
    rows = []
    for i in range(count):
        text = (f"The dam at site {i} holds {i * 3} million cubic metres. Farmers near site "
                f"{i} say they need more water.")
        if i % 3 == 0:
            text += f"\n\nThe council of district {i % 7} will vote on the gates in May."
        rows.append({"id": f"doc-{i:03d}", "text": text, "title": f"Site {i} report"})
    return rows


def _write_jsonl(folder: Path, rows: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                         encoding="utf-8")
    return folder


def _artifacts(index: askcorpus.Index) -> dict[str, bytes]:
    """Every file of the served generation but the manifest (which holds the build time)."""
    folder = index.index_dir / index.generation
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def test_an_incremental_build_writes_the_bytes_of_a_full_build(tmp_path: Path) -> None:
    rows = _jsonl_rows(40)
    corpus = _write_jsonl(tmp_path / "corpus", rows)
    askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    rows[20]["text"] += " This sentence was edited."  # edited
    rows[3]["text"] = rows[3]["text"].replace("\n\n", "\n\nA new paragraph.\n\n")
    del rows[11]  # removed
    rows.append({"id": "doc-new", "text": "A new report. It has two sentences."})  # added
    _write_jsonl(corpus, rows)
    again = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    full = askcorpus.build(corpus, tmp_path / "full", model=HASH_MODEL)
    assert _artifacts(again) == _artifacts(full)
    assert again.manifest.counts == full.manifest.counts
    assert _answers(again) == _answers(full)


def test_the_opened_index_equals_one_read_from_disk(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """api.build opens the new generation with the records it wrote (index_format.lent):
    the same index as opening the folder afresh, in another build or process."""
    parsed: list[str] = []
    original = index_format._read_jsonl

    def spy(path: Path, hint: str) -> list[dict[str, object]]:
        parsed.append(path.name)
        return original(path, hint)

    monkeypatch.setattr(index_format, "_read_jsonl", spy)
    corpus = _write_jsonl(tmp_path / "corpus", _jsonl_rows(12))
    built = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert parsed == []  # no previous generation, and the new one was not parsed back
    fresh = askcorpus.open(tmp_path / "index")
    assert parsed == ["documents.jsonl", "passages.jsonl"]  # lent only inside the build
    assert built.documents() == fresh.documents() and built.passages() == fresh.passages()
    assert built.examples == fresh.examples and built.perspectives == fresh.perspectives
    np.testing.assert_array_equal(built.retriever.vectors, fresh.retriever.vectors)
    for question in QUESTIONS:
        assert built.ask(question).to_dict() == fresh.ask(question).to_dict()
