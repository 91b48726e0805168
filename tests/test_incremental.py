"""Incremental builds: only edited documents are encoded again; the index answers the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus import building, cli
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
