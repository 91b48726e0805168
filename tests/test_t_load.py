"""Reliability matrix T46-T49: concurrency, load, chunker properties and fuzzing."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import askcorpus
from askcorpus.attribution import Attributor
from askcorpus.errors import AskcorpusError
from askcorpus.lexical import tokenize
from askcorpus.passages import split_document
from askcorpus.segment import blocks, is_boilerplate, sentences
from askcorpus.types import Actor, Document
from conftest import HASH_MODEL
from reliability_helpers import ROOT, env_with_src, fixture_corpus_at

# --------------------------------------------------------------------------- T46
HASH_OPS = [
    ("ask", "Who says the river dam cut the water of the farms?", 5, None),
    ("ask", "How many farms are along the river?", 3, None),
    ("ask", "What did Ortiz say about the dam?", 5, ("north",)),
    ("ask", "the of and", 2, None),
    ("search", "river dam water", 4, None),
    ("search", "spillway engineers", 10, None),
    ("search", "gates opened council", 3, ("south", "neutral")),
    ("ask", "What is the capital of Australia?", 5, None),
]
SEED_OPS = [
    ("ask", "How many soldiers does Armenia say have been killed?", 5, None),
    ("ask", "Is the fighting happening on Armenian territory?", 5, None),
    ("ask", "What did Yuri Kim tell the Senate?", 3, None),
    ("ask", "What is the capital of Australia?", 5, None),
    ("search", "civilians shelling Stepanakert", 8, None),
    ("search", "ceasefire violations", 5, ("international",)),
]


def _run(index: askcorpus.Index, op: tuple) -> str:
    method, question, k, sides = op
    sides = list(sides) if sides else None
    if method == "ask":
        return json.dumps(index.ask(question, k=k, perspectives=sides).to_dict(),
                          sort_keys=True)
    return json.dumps([c.to_dict() for c in index.search(question, k=k, perspectives=sides)],
                      sort_keys=True)


@pytest.mark.parametrize("engine", ["hash", pytest.param("real", marks=pytest.mark.slow)])
def test_t46_threads_share_one_engine(engine, request, tmp_path):
    if engine == "hash":
        corpus = fixture_corpus_at(tmp_path / "corpus")
        index, ops = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL), HASH_OPS
    else:
        index, ops = request.getfixturevalue("seed_index"), SEED_OPS
    baseline = {op: _run(index, op) for op in ops}  # sequential
    rng = random.Random(46)
    plans = [[rng.choice(ops) for _ in range(50)] for _ in range(8)]

    def worker(plan: list[tuple]) -> list[tuple[tuple, str]]:
        return [(op, _run(index, op)) for op in plan]

    with ThreadPoolExecutor(8) as pool:
        results = [pair for batch in pool.map(worker, plans) for pair in batch]
    assert len(results) == 400
    mismatches = [op for op, got in results if got != baseline[op]]
    assert not mismatches, mismatches[:3]


# --------------------------------------------------------------------------- T47
def _load(tmp_path: Path, *args: str, timeout: float) -> list[dict]:
    out = tmp_path / "load.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), *args,
                          "--json", str(out)], capture_output=True, text=True,
                         timeout=timeout, env=env_with_src(), cwd=ROOT)
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.web
@pytest.mark.parametrize("size", ["reduced",
                                  pytest.param("full", marks=pytest.mark.slow)])
def test_t47_load_over_http(size, tmp_path):
    if size == "reduced":  # plumbing: the tiny test embedder, no baseline
        corpus = fixture_corpus_at(tmp_path / "corpus")
        results = _load(tmp_path, "--requests", "24", "--rounds", "2", "--model", HASH_MODEL,
                        "--corpus", str(corpus), "--no-baseline", timeout=600)
    else:  # the recipe: the real model, 300 requests x 3 rounds, with the no-op baseline.
        results = _load(tmp_path, timeout=3600)
    serve, serve_json = results[0], results[1]  # askcorpus serve's Gradio API, its JSON API
    assert "JSON API" in serve_json["name"]
    for r in serve["rounds"] + serve_json["rounds"]:
        assert r["errors"] == 0 and r["timeouts"] == 0, r
        assert r["ok"] + r["rejected"] == r["requests"]
    if size == "full":
        # The leak criterion of the issue: under 50 MB from round 2 to round 3 (Gradio keeps
        # the last 1000 sessions, so RSS still settles during the first rounds).
        assert serve["rss_growth_round2_to_3_mb"] < 50, serve
        # Budget: the no-op baseline's p99 (Gradio's own overhead, measured in the same run)
        # plus the encoder's p99, with room for a shared 2-core machine.
        noop = next(r for r in results if r["name"].startswith("no-op Gradio"))
        baseline_p99 = max(r["p99_ms"] for r in noop["rounds"])
        assert max(r["p99_ms"] for r in serve["rounds"]) < baseline_p99 + 3000, results


# --------------------------------------------------------------------------- T48
ACTORS = (Actor("Mayor Lena Ortiz", "north", aliases=("Ortiz",), kind="person"),)
ATTRIBUTOR = Attributor(ACTORS)
PIECES = st.sampled_from([
    "\n", "\n\n", " ", "  \n \n", "\t", ". ", "! ", "? ", "… ", "Mr. ", "U.S. ", "\u3000",
    "東京の桜は三月に咲きます。", "😀🎉", "e\u0301", "ﬁ", "\u202e", "\u200b",
    "Ortiz said.", '"The dam is safe," Ortiz said. ', "¹ A footnote.\n", "Word",
    "Subscribe now", "Advertisement\n\n", "x" * 300, "The council met. ",
    "Farmers say the water is gone. ", "1. ", "- ",
])
DOCS = st.one_of(st.text(max_size=600),
                 st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=60).map("".join))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for block in blocks(text):
        if block.kind == "boilerplate":
            continue
        spans.extend((s.start, s.end) for s in sentences(text, block)
                     if not is_boilerplate(text[s.start:s.end]))
    return spans


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=DOCS, min_words=st.integers(1, 60), extra=st.integers(0, 150))
@example(text="", min_words=40, extra=110)
@example(text=" \n\t\u3000 \n", min_words=40, extra=110)
@example(text="x" * 2000, min_words=5, extra=5)
def test_t48_chunker_properties(text, min_words, extra):
    max_words = min_words + extra
    doc = Document(doc_id="d", path="d.txt", title="d", text=text)
    passages = split_document(doc, ATTRIBUTOR, min_words=min_words, max_words=max_words)
    # 6. An empty or whitespace-only document gives no passage.
    if not text.strip():
        assert passages == []
    spans = _sentence_spans(text)
    previous_end = 0
    for i, p in enumerate(passages):
        assert p.text == text[p.start:p.end]                       # 1. verbatim
        assert p.text.strip() and 0 <= p.start < p.end <= len(text)  # 2. bounds, not blank
        assert p.start >= previous_end                              # 3. sorted, no overlap
        previous_end = p.end
        assert p.passage_id == f"d:{i:04d}"                         # 5. stable ids
        if len(p.text.split()) > max_words:
            # Documented exception: a sentence is never cut, so one long sentence (with at
            # most the heading that introduces it) may exceed max_words.
            inside = [s for s in spans if p.start <= s[0] and s[1] <= p.end
                      and text[s[0]:s[1]].split()]
            long_ones = [s for s in inside if len(text[s[0]:s[1]].split()) > 1]
            assert len(inside) <= 2 or any(
                len(text[s[0]:s[1]].split()) + 20 >= len(p.text.split()) for s in long_ones
            ), (p.text[:200], max_words)
    # 4. Coverage: every non-whitespace character of every kept sentence is in a passage.
    covered = bytearray(len(text))
    for p in passages:
        covered[p.start:p.end] = b"\1" * (p.end - p.start)
    for start, end in spans:
        for j in range(start, end):
            assert covered[j] or text[j].isspace(), (text[start:end][:80], j)
    # 5. Deterministic.
    again = split_document(doc, ATTRIBUTOR, min_words=min_words, max_words=max_words)
    assert again == passages
    # The BM25 tokenizer never raises and does not care about NFC vs NFD.
    assert tokenize(unicodedata.normalize("NFC", text)) == \
        tokenize(unicodedata.normalize("NFD", text))


# --------------------------------------------------------------------------- T49
def _fuzz_target():
    spec = importlib.util.spec_from_file_location("fuzz_ingest",
                                                  ROOT / "fuzz" / "fuzz_ingest.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.target


TARGET = _fuzz_target()
# Crashers found by the atheris harness are added here as regression inputs.
REGRESSIONS = [
    b"",
    b"\xff\xfe\x00",
    b"\xfe\xff\xd8\x00",  # UTF-16 BOM then a lone high surrogate
    b"\xef\xbb\xbf\r\r\n\r",
    b"<html><script>" + b"<" * 500 + b"</script><p>&amp;&#0;&#xD800;</p>",
    b"<!--" * 200 + b"<p>x</p>",
    b"\x00" * 100,
    "¹²³ Footnote.\n\n\"Quote,\" Ortiz said.".encode(),
    b"Mr. " * 500,
    b"\xed\xa0\x80",  # an encoded surrogate (invalid UTF-8)
]


FRAGMENTS = [b"<p>", b"</p>", b"<script>", b"&amp;", b"\r", b"\n\n", b"\xff", b"Ortiz said. ",
             b"\xef\xbb\xbf", b"<!--", b"-->", b"\x00", b"<b>x</b>"]


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2000),
                      st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.lists(st.sampled_from(FRAGMENTS), max_size=80).map(b"".join)))
def test_t49_fuzz_targets(data):
    for sample in [*REGRESSIONS, data] if data == b"" else [data]:
        with contextlib.suppress(AskcorpusError):
            TARGET(sample)
