"""Answer logic rules on hand-made passages (pure functions), and on the real seed index."""

from __future__ import annotations

import numpy as np
import pytest

import askcorpus
from askcorpus import answering as logic
from askcorpus.retrieve import Candidate
from askcorpus.types import Passage
from askcorpus.view import CorpusView


@pytest.mark.parametrize(("question", "asks"), [
    ("How did Baku's representative answer the human-rights findings?", True),
    ("Do the two consuls agree on who is committing war crimes?", True),
    ("Is the fighting on Armenian soil, or is it confined to Azerbaijan?", True),
    ("Does Baku deny the charge of ethnic cleansing?", True),
    ("How many soldiers does Armenia say have been killed?", False),
    ("When did the first war over Nagorno-Karabakh end?", False),
])
def test_asks_for_sides(question: str, asks: bool) -> None:
    assert logic.asks_for_sides(question) is asks


@pytest.mark.parametrize(("text", "figure"), [
    ("Armenia says 520 soldiers have been killed", True),
    ("roughly 120,000 Armenians", True),
    ("tens of thousands of Armenians flee", True),
    ("in October 2022, Aliyev stated that they could leave.³⁷", False),  # a year, a footnote
    ("The numbers have not been independently verified.", False),
])
def test_gives_figure(text: str, figure: bool) -> None:
    assert logic.gives_figure(text) is figure


def _context(texts: dict[str, str]) -> CorpusView:
    passages = [Passage(f"d:{i}", "d", 0, len(t), t, perspective=side)
                for i, (side, t) in enumerate(texts.items())]
    return CorpusView.of(passages, [], [], ("a", "b"), [])


def test_a_figure_question_is_contested_only_when_both_parties_give_a_figure() -> None:
    ctx = _context({"a": "A says 520 soldiers died.", "b": "B says they may leave."})
    strong = {"a": [Candidate(0, 1.0, 0.7, 0.0)], "b": [Candidate(1, 0.9, 0.7, 0.0)]}

    def answers(c: Candidate) -> bool:
        return logic.gives_figure(ctx.passages[c.row].text)

    assert logic.status_of(strong, ctx) == "contested"
    assert logic.status_of(strong, ctx, answers=answers) == "answered"


def test_strong_side_leads_with_a_passage_that_gives_the_figure() -> None:
    fused = [Candidate(0, 1.0, 0.70, 0.0), Candidate(1, 0.9, 0.65, 0.0)]
    ctx = _context({"a": "No figure here at all.", "b": "Over 300 cases were filed."})
    per_side = {"a": fused}
    strong = logic.strong_sides(per_side, fused, side_min_dense=0.6, side_max_rank=10,
                                answers=lambda c: logic.gives_figure(ctx.passages[c.row].text))
    assert [c.row for c in strong["a"]] == [1, 0]
    plain = logic.strong_sides(per_side, fused, side_min_dense=0.6, side_max_rank=10)
    assert [c.row for c in plain["a"]] == [0, 1]


def test_highlight_skips_fragments_and_prefers_figures() -> None:
    text = "Nagorno-Karabakh. About 120,000 Armenians lived there. They lived in the enclave."
    passage = Passage("d:0", "d", 0, len(text), text)

    def closest_first(p: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        return np.array([0.9, 0.5, 0.7])  # the fragment is closest in meaning

    def sentence(span: tuple[int, int]) -> str:
        return text[span[0]:span[1]]

    plain = logic._highlights([passage], closest_first, wants_figure=False, min_words=4)[0]
    assert sentence(plain) == "They lived in the enclave."
    figure = logic._highlights([passage], closest_first, wants_figure=True, min_words=4)[0]
    assert sentence(figure) == "About 120,000 Armenians lived there."


def test_a_question_asking_for_the_parties_answers_shows_both(
        seed_index: askcorpus.Index) -> None:
    rules = seed_index.with_judge(logic.RuleJudge(seed_index.settings))
    answer = rules.ask("How did Azerbaijan respond to accusations of using cluster munitions?")
    assert answer.status == "contested"
    sides = answer.sides_map
    assert {"armenian", "azerbaijani"} <= set(sides)
    # Worded as a plain fact question, only the rank rule applies: no Azerbaijani passage
    # addresses it closely enough, and the blindspot notice says so.
    plain = rules.ask("Were cluster munitions used in the 2020 war?")
    assert plain.status == "answered"
    assert any("no Azerbaijani side source" in n for n in plain.notices)
