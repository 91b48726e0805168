"""Lookups: words typed to find them are answered by the passages that hold them.

The seed tests run the real model and index: the learned abstention model, trained on
questions only, abstained on names the corpus quotes again and again ("Patrick James").
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import askcorpus
from askcorpus.lexical import tokenize
from askcorpus.lookup import (
    holders_first,
    holds,
    is_lookup,
    is_question,
    looked_up,
    lookup_stems,
)
from askcorpus.retrieve import Candidate

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text", [
    "Is the fighting happening on Armenian territory?", "What did Yuri Kim say",
    "did Baku attack", "How many soldiers were killed", "Name any Armenian farmer killed",
    "List the sanctions sought", "  Who   is Patrick James", "Ganja？",
    "Who is Azerbaijan's defence minister?", "What is the capital of Artsakh?",
    "Who was President of Azerbaijan in 1993?", "Who is X? And who is Y?"])
def test_questions_are_not_lookups(text: str) -> None:
    assert is_question(text)
    assert not is_lookup(text)
    assert looked_up(text) is None
    assert lookup_stems(text) == frozenset()


@pytest.mark.parametrize(("text", "name"), [
    ("Who is Yuri Kim?", "Yuri Kim"), ("What is the Lemkin Institute?", "Lemkin Institute"),
    ("what is ECRI ?", "ECRI"), ("Who was Thomas de Waal?", "Thomas de Waal"),
    ("What are the Madrid Principles？", "Madrid Principles")])
def test_who_or_what_is_a_name_looks_the_name_up(text: str, name: str) -> None:
    assert is_question(text)
    assert looked_up(text) == name
    assert lookup_stems(text) == frozenset(tokenize(name))


@pytest.mark.parametrize("text", ["Teachers should be armed", "Julian Assange is a journalist",
                                  "Azerbaijan has been shelling Stepanakert"])
def test_clauses_are_claims_not_lookups(text: str) -> None:
    assert not is_question(text)
    assert not is_lookup(text)
    assert lookup_stems(text) == frozenset()


@pytest.mark.parametrize("text", ["Patrick James", "white flag", "Lachin corridor blockade",
                                  "Isabella Rossi", "casualties September 2023"])
def test_names_and_phrases_are_lookups(text: str) -> None:
    assert is_lookup(text)
    assert looked_up(text) == text
    assert lookup_stems(text) == frozenset(tokenize(text))


def test_a_lookup_of_stopwords_only_asks_for_nothing() -> None:
    assert lookup_stems("the of and") == frozenset()


def test_a_text_holds_words_by_their_stems_in_any_order() -> None:
    assert holds("shelling Ganja", "Ganja was shelled on Sunday.")
    assert holds("the of", "anything")  # stopwords ask for nothing
    assert not holds("white flag", "They raised the flag.")


def test_holders_come_first_and_both_groups_keep_their_order() -> None:
    ranked = [Candidate(row, 1.0 - row / 10, 0.5, 0.0) for row in range(5)]
    assert [c.row for c in holders_first(ranked, [ranked[3], ranked[1]])] == [3, 1, 0, 2, 4]
    assert [c.row for c in holders_first(ranked, [])] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("text", "name"), [
    ("Patrick James", "Patrick James"), ("Luis Moreno Ocampo", "Luis Moreno Ocampo"),
    ("white flag", "white flag"), ("Who is Antony Blinken?", "Antony Blinken"),
    ("What is the Lemkin Institute?", "Lemkin Institute")])
def test_a_lookup_the_corpus_holds_is_answered_by_the_passages_holding_it(
        seed_index: askcorpus.Index, text: str, name: str) -> None:
    answer = seed_index.ask(text, k=5)
    assert answer.status != "no_answer"
    assert answer.notices[0].startswith(f"Read as a lookup of “{name}”")
    assert holds(name, answer.citations[0].passage.text)
    holding = {c.passage.perspective for c in answer.citations if holds(name, c.passage.text)}
    assert answer.summary
    assert {line.perspective for line in answer.summary} <= holding
    for c in answer.citations:
        assert c.passage.text == seed_index.document(c.passage.doc_id).text[
            c.passage.start:c.passage.end]


@pytest.mark.parametrize("text", ["banana bread recipe", "nginx reverse proxy TLS",
                                  "Azerbaijan gross domestic product 2020",
                                  "Who is Ruben Vardanyan?", "What is the CSTO?"])
def test_a_lookup_no_passage_holds_is_left_to_the_judge(
        seed_index: askcorpus.Index, text: str) -> None:
    assert not any(holds(text, p.text) for p in seed_index.passages())
    on = seed_index.ask(text, k=5)
    off = seed_index.with_settings(replace(seed_index.settings, answer_lookups=False)).ask(
        text, k=5)
    assert on.status == off.status
    assert not any(n.startswith("Read as a lookup") for n in on.notices)
    assert [c.passage.passage_id for c in on.citations] == [
        c.passage.passage_id for c in off.citations]


def test_questions_are_decided_as_before(seed_index: askcorpus.Index) -> None:
    off = seed_index.with_settings(replace(seed_index.settings, answer_lookups=False))
    for question in ("What did Patrick James say about Russia?",
                     "Who is Azerbaijan's defence minister?"):
        a, b = seed_index.ask(question, k=5), off.ask(question, k=5)
        assert (a.status, a.notices, [c.passage.passage_id for c in a.citations]) == (
            b.status, b.notices, [c.passage.passage_id for c in b.citations])


def test_no_evaluation_question_is_a_lookup() -> None:
    """So lookups cannot move a figure of `askcorpus eval`'s evaluation questions (training
    never asks the judge, so what `askcorpus train` fits cannot move either)."""
    rows = [json.loads(line) for line in
            (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 110
    assert [r["id"] for r in rows if looked_up(r["question"])] == []
