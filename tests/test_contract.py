"""The JSON contract of `askcorpus ask --json`: keys, verbatim offsets, and the seed answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import askcorpus

QUESTION = "How many soldiers does Armenia say have been killed?"
CITATION_KEYS = {"n", "passage_id", "doc_id", "source_path", "start", "end", "text", "highlight",
                 "kind", "speaker", "perspective", "title", "publisher", "date", "url", "score"}
REFERENCE_KEYS = {"number", "text", "start", "end"}


@pytest.fixture(scope="module")
def cli_answer(seed_index: askcorpus.Index, seed_corpus: Path,
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a user sees: the CLI run as its own process, stdout parsed as JSON."""
    result = subprocess.run(
        [sys.executable, "-m", "askcorpus.cli", "ask", QUESTION,
         "--index", str(seed_index.index_dir), "--corpus", str(seed_corpus), "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path_factory.mktemp("cwd"),
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _file_text(seed_corpus: Path, rel: str) -> str:
    return (seed_corpus / rel).read_text(encoding="utf-8")


def test_top_level_keys(cli_answer: dict[str, Any]) -> None:
    assert {"question", "status", "citations", "sides", "summary"} <= set(cli_answer)
    assert cli_answer["question"] == QUESTION
    assert cli_answer["status"] in ("answered", "contested")
    assert cli_answer["citations"]


def test_every_citation_has_the_contract_keys(cli_answer: dict[str, Any]) -> None:
    for i, c in enumerate(cli_answer["citations"], start=1):
        missing = CITATION_KEYS - set(c)
        assert not missing, f"citation {i} lacks {sorted(missing)}"
        assert c["n"] == i
        assert isinstance(c["start"], int) and isinstance(c["end"], int)
        assert isinstance(c["score"], float | int)
        assert c["kind"] in ("body", "quote", "heading")
        assert c["perspective"] in ("armenian", "azerbaijani", "international")
        for r in c.get("references", []):
            assert set(r) >= REFERENCE_KEYS


def test_citation_text_is_the_document_slice(cli_answer: dict[str, Any], seed_corpus: Path) -> None:
    for c in cli_answer["citations"]:
        assert not Path(c["source_path"]).is_absolute()
        text = _file_text(seed_corpus, c["source_path"])
        assert text[c["start"]:c["end"]] == c["text"], c["passage_id"]
        for r in c.get("references", []):
            assert text[r["start"]:r["end"]] == r["text"]


def test_highlight_lies_within_the_citation(cli_answer: dict[str, Any]) -> None:
    for c in cli_answer["citations"]:
        start, end = c["highlight"]
        assert 0 <= start < end <= len(c["text"]), c["highlight"]
        assert c["text"][start:end].strip()


def test_first_citation_is_the_cbs_figure(cli_answer: dict[str, Any]) -> None:
    first = cli_answer["citations"][0]
    assert first["doc_id"] == "cbsla-2020"
    assert "520 soldiers" in first["text"]
    assert first["source_path"] == "000_9db664f0088300f9.txt"
    assert first["publisher"] == "CBS Los Angeles (CBSLA)"
    assert first["title"].startswith("'The Risks Of Escalation Are Enormous'")
    assert first["date"] == "2020-10"


def test_sides_and_summary_point_at_citations(cli_answer: dict[str, Any]) -> None:
    by_n = {c["n"]: c for c in cli_answer["citations"]}
    assert isinstance(cli_answer["sides"], dict)
    for side, numbers in cli_answer["sides"].items():
        assert numbers and set(numbers) <= set(by_n), side
        assert all(by_n[n]["perspective"] == side for n in numbers), side
    assert isinstance(cli_answer["summary"], list) and cli_answer["summary"]
    for line in cli_answer["summary"]:
        assert set(line) >= {"perspective", "text", "citation"}
        assert line["citation"] in by_n
        assert line["text"].strip() in by_n[line["citation"]]["text"]  # verbatim
        assert line["perspective"] == by_n[line["citation"]]["perspective"]


def test_cli_json_is_the_api_answer(cli_answer: dict[str, Any],
                                    seed_index: askcorpus.Index) -> None:
    assert cli_answer == json.loads(json.dumps(seed_index.ask(QUESTION).to_dict()))
