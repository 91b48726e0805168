"""Speakers and sides on any corpus: the seeds, and a catalog-free corpus on other subjects.

Figures are measured against two gold lists (``attribution_gold.jsonl`` for the seeds,
``othercorpus_gold.jsonl`` for ``data/othercorpus``) and printed in the assertion messages.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import askcorpus
from askcorpus.attribution import Attributor
from askcorpus.corpus import load_corpus
from askcorpus.passages import split_document
from askcorpus.segment import blocks
from askcorpus.types import UNLABELED, Passage

DATA = Path(__file__).parent / "data"
OTHER = DATA / "othercorpus"
MIN_SEED_ACCURACY = 0.97
MIN_OTHER_ACCURACY = 0.95
MAX_WRONG_SIDE = 0.01


@dataclass(frozen=True)
class Figures:
    """Speaker accuracy over the gold statements; wrong sides over the attributed ones."""

    statements: int
    correct: int
    attributed: int
    wrong_side: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.statements

    @property
    def wrong_side_rate(self) -> float:
        return self.wrong_side / max(self.attributed, 1)

    def __str__(self) -> str:
        return (f"speaker accuracy {self.correct}/{self.statements} = {self.accuracy:.3f}, "
                f"wrong side {self.wrong_side}/{self.attributed} = {self.wrong_side_rate:.3f}")


def _passages(root: Path) -> tuple[dict[str, str], dict[str, list[Passage]]]:
    corpus = load_corpus(root)
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    return ({d.doc_id: d.text for d in corpus.documents},
            {d.doc_id: [p for p in split_document(d, attributor) if p.kind != "footnote"]
             for d in corpus.documents})


def measure(root: Path, gold: Path, *, side_of: str | None = None) -> Figures:
    """Score the passage that holds each gold quote; ``side_of`` replaces gold perspectives
    (a corpus without a catalog has only the unlabeled side)."""
    texts, passages = _passages(root)
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line]
    correct = attributed = wrong = 0
    for row in rows:
        start = texts[row["doc"]].index(row["quote"])
        end = start + len(row["quote"])
        best = max(passages[row["doc"]], key=lambda p: min(end, p.end) - max(start, p.start))
        correct += best.speaker == row["speaker"]
        if best.speaker is not None:
            attributed += 1
            wrong += best.perspective != (side_of or row["perspective"])
    return Figures(len(rows), correct, attributed, wrong)


@pytest.fixture(scope="module")
def other_with_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The other corpus with ``othercorpus_catalog.toml`` as its catalog (organisations only)."""
    target = tmp_path_factory.mktemp("other") / "othercorpus"
    shutil.copytree(OTHER, target)
    shutil.copy(DATA / "othercorpus_catalog.toml", target / "catalog.toml")
    return target


def test_seed_gold_speakers_and_sides(seed_corpus: Path) -> None:
    figures = measure(seed_corpus, DATA / "attribution_gold.jsonl")
    print(f"seed gold list: {figures}")  # the figure, shown with pytest -s
    assert figures.statements >= 100
    assert figures.accuracy >= MIN_SEED_ACCURACY, str(figures)
    assert figures.wrong_side_rate <= MAX_WRONG_SIDE, str(figures)


def test_other_corpus_without_a_catalog() -> None:
    assert not (OTHER / "catalog.toml").exists()
    figures = measure(OTHER, DATA / "othercorpus_gold.jsonl", side_of=UNLABELED)
    print(f"catalog-free corpus: {figures}")
    assert figures.statements >= 60 and figures.attributed >= 60, str(figures)
    assert figures.accuracy >= MIN_OTHER_ACCURACY, str(figures)
    assert figures.wrong_side_rate <= MAX_WRONG_SIDE, str(figures)


def test_other_corpus_sides_come_from_the_catalogued_organisation(
        other_with_catalog: Path) -> None:
    figures = measure(other_with_catalog, DATA / "othercorpus_gold.jsonl")
    assert figures.accuracy >= MIN_OTHER_ACCURACY, str(figures)
    assert figures.wrong_side_rate <= MAX_WRONG_SIDE, str(figures)
    _, passages = _passages(other_with_catalog)
    delgado = next(p for p in passages["water_dispute"] if "a fifth of its treated" in p.text)
    assert (delgado.speaker, delgado.perspective) == ("Rosa Delgado", "city")
    assert "Millbrook Water Department" in (delgado.speaker_role or "")


def test_every_seed_headline_is_the_publishers_voice(seed_corpus: Path) -> None:
    texts, passages = _passages(seed_corpus)
    corpus = {d.doc_id: d for d in load_corpus(seed_corpus).documents}
    for doc_id, text in texts.items():
        for block in blocks(text):
            headline = text[block.start:block.end]
            if block.kind != "heading" or any(q in headline for q in "“”\"‘'"):
                continue
            for p in passages[doc_id]:
                if p.start <= block.start < p.end and p.kind == "heading":
                    assert p.speaker is None, (headline, p.attributed_by)
                    assert p.perspective == corpus[doc_id].perspective
    dismisses = next(p for p in passages["globalarm-2023"]
                     if "Azerbaijan Dismisses Concerns of Ethnic Cleansing" in p.text)
    assert dismisses.speaker != "Government of Azerbaijan", dismisses.attributed_by
    assert dismisses.perspective == "armenian"
    link_list = next(p for p in passages["globalarm-2023"] if "Power Demands Immediate" in p.text)
    assert link_list.speaker is None, link_list.attributed_by


def test_an_undeclared_speaker_keeps_the_documents_side_and_says_so(tmp_path: Path) -> None:
    from askcorpus.types import Document

    text = ("Council Ends Water Dispute\n\n\"We will not allow it,\" said Minister Jane Doe. "
            "She added that the plan was final.\n\nLater, Doe said the talks were over.\n")
    doc = Document("d", "d.md", "d", text, perspective="press")
    passages = split_document(doc, Attributor(()))
    spoken = [p for p in passages if p.speaker]
    assert spoken and {p.speaker for p in spoken} == {"Jane Doe"}
    for p in spoken:
        assert p.perspective == "press"
        assert "side not declared" in p.attributed_by
        assert Passage.from_dict(p.to_dict()) == p
    heading_voice = Attributor(()).attribute_document("d", text, [(0, 26, 1)], [True])
    assert heading_voice[0][0].speaker is None  # the headline is the publisher's voice


def test_titles_dates_publishers_and_examples_come_from_the_files() -> None:
    corpus = load_corpus(OTHER)
    by_id = {d.doc_id: d for d in corpus.documents}
    water = by_id["water_dispute"]
    assert water.title == "Millbrook Council Approves Water Rate Rise as Residents Cry Foul"
    assert (water.date, water.publisher, water.author) == ("2024-03-14", "Millbrook Ledger",
                                                           "Hannah Cole")
    assert by_id["school_board"].publisher == "Oakdale Herald"
    assert corpus.catalog.examples and all(
        "Karabakh" not in q and "Armenia" not in q for q in corpus.catalog.examples)


def test_a_catalog_free_index_answers_what_a_speaker_said(tmp_path: Path) -> None:
    folder = tmp_path / "othercorpus"
    shutil.copytree(OTHER, folder)
    index = askcorpus.build(folder, tmp_path / "index")
    assert index.examples and "Karabakh" not in " ".join(index.examples)
    for speaker in ("Dana Whitfield", "Karen Whitaker", "Alan Brooks"):
        answer = index.ask(f"What did {speaker} say?")
        spoken = [c for c in answer.citations if c.passage.speaker == speaker]
        assert answer.status != "no_answer" and spoken, (speaker, [
            (c.passage.speaker, c.text[:60]) for c in answer.citations])
