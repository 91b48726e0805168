"""Attribution on the real seed sentences, and its accuracy on the gold list of statements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askcorpus.attribution import Attributor
from askcorpus.corpus import load_corpus
from askcorpus.passages import split_document
from askcorpus.types import Passage

GOLD = Path(__file__).parent / "data" / "attribution_gold.jsonl"
# Measured 0.972 (speaker and perspective) on 108 gold statements when this was set (issue 12);
# the floor keeps regressions out, the closing note reports the exact figures.
MIN_SPEAKER_ACCURACY = 0.97


@pytest.fixture(scope="module")
def seed_passages(seed_corpus: Path) -> dict[str, list[Passage]]:
    corpus = load_corpus(seed_corpus)
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    return {d.doc_id: [p for p in split_document(d, attributor) if p.kind != "footnote"]
            for d in corpus.documents}


def _passage_with(passages: dict[str, list[Passage]], doc: str, snippet: str) -> Passage:
    found = [p for p in passages[doc] if snippet in p.text]
    assert found, f"no passage of {doc} contains {snippet!r}"
    return found[0]


@pytest.mark.parametrize(("doc", "snippet", "speaker", "perspective"), [
    ("cbsla-2020", "There is not any evidence or proof", "Armen Baibourtian", "armenian"),
    ("cbsla-2020", "All of the fighting at the moment", "Nasimi Aghayev", "azerbaijani"),
    ("cbsla-2020", "There is no fighting on the territory of Armenia", "Nasimi Aghayev",
     "azerbaijani"),
    ("cbsla-2020", "All Azerbaijani accusations are false", "Armen Baibourtian", "armenian"),
    ("cbsla-2020", "Amnesty International has not done any investigation", "Nasimi Aghayev",
     "azerbaijani"),
    ("cbsla-2020", "So the risks of escalation are enormous", "Patrick James", "international"),
    ("cbsla-2020", "Armenia says 520 soldiers", "Government of Armenia", "armenian"),
    ("cbsla-2020", "Azerbaijan says it has lost 40 civilians", "Government of Azerbaijan",
     "azerbaijani"),
    ("civilnet-2023", "must raise the white flag", "Ilham Aliyev", "azerbaijani"),
    ("globalarm-2023", "the United States will not countenance", "Yuri Kim", "international"),
    ("globalarm-2023", "Azerbaijan bears the responsibility", "Joseph Borrell", "international"),
    ("globalarm-2023", "deeply concerned by Azerbaijan", "Antony Blinken", "international"),
    ("cbsla-2020", "cluster munitions that appear", "Amnesty International", "international"),
])
def test_seed_sentences_are_attributed_to_their_speakers(
        seed_passages: dict[str, list[Passage]], doc: str, snippet: str, speaker: str,
        perspective: str) -> None:
    passage = _passage_with(seed_passages, doc, snippet)
    assert (passage.speaker, passage.perspective) == (speaker, perspective), passage.attributed_by


def test_pronoun_cue_is_recorded(seed_passages: dict[str, list[Passage]]) -> None:
    passage = _passage_with(seed_passages, "cbsla-2020", "There is not any evidence")
    assert "he said" in passage.attributed_by and "Armen Baibourtian" in passage.attributed_by


def test_a_passage_speaks_with_one_voice(seed_passages: dict[str, list[Passage]]) -> None:
    armenia = _passage_with(seed_passages, "cbsla-2020", "Armenia says 520 soldiers")
    assert "Azerbaijan says" not in armenia.text


def test_narration_keeps_the_document_perspective(seed_passages: dict[str, list[Passage]]) -> None:
    passage = _passage_with(seed_passages, "cbsla-2020", "The numbers have not been independently")
    assert passage.speaker is None
    assert passage.perspective == "international"
    assert passage.attributed_by == "document default"


def test_catalog_override_wins(tmp_path: Path) -> None:
    from askcorpus.catalog import Override
    from askcorpus.types import Actor, Document

    actors = [Actor("Ana Vale", "north", ("Vale",), kind="person")]
    text = "Rivers matter to the valley and to every farm along the water in spring."
    doc = Document("d", "d.txt", "d", text, perspective="south")
    attributor = Attributor(actors, [Override("d", "Rivers matter", "Ana Vale")])
    (passage,) = split_document(doc, attributor)
    assert (passage.speaker, passage.perspective, passage.attributed_by) == (
        "Ana Vale", "north", "catalog override")


def test_attribution_accuracy_on_the_gold_statements(
        seed_passages: dict[str, list[Passage]], seed_corpus: Path) -> None:
    corpus = load_corpus(seed_corpus)
    texts = {d.doc_id: d.text for d in corpus.documents}
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    correct = 0
    for row in rows:
        start = texts[row["doc"]].index(row["quote"])
        end = start + len(row["quote"])
        best = max(seed_passages[row["doc"]],
                   key=lambda p: min(end, p.end) - max(start, p.start))
        correct += best.speaker == row["speaker"] and best.perspective == row["perspective"]
    assert len(rows) >= 100
    assert correct / len(rows) >= MIN_SPEAKER_ACCURACY
