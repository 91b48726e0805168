"""Reliability matrix T1-T11: what askcorpus does with bad, odd or hostile questions."""

from __future__ import annotations

import json
import math
import re
import time
import tracemalloc
from pathlib import Path

import pytest

import askcorpus
from askcorpus import render
from askcorpus.cli import main as cli_main
from askcorpus.errors import QuestionError
from conftest import write_corpus
from reliability_helpers import audited, opens_outside, shared_server

EMPTY = ["", " ", "\n\t", "\u3000", "\u200b", " \u200b\u3000\n"]


class SpyEncoder:
    """Wraps the index's encoder and counts calls."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.name, self.revision, self.dim = inner.name, inner.revision, inner.dim

    def encode(self, texts, *, progress=False):
        self.calls += 1
        return self.inner.encode(texts, progress=progress)


@pytest.fixture(scope="module")
def server():
    return shared_server()


# --------------------------------------------------------------------------- T1
@pytest.mark.web
def test_t01_empty_question(hash_index, server, capsys):
    spy = SpyEncoder(hash_index.encoder())
    hash_index._encoder = spy
    for question in EMPTY:
        with pytest.raises(QuestionError, match=r"^Please enter a question\.$"):
            hash_index.ask(question)
        with pytest.raises(QuestionError, match="Please enter a question"):
            hash_index.search(question)
    assert spy.calls == 0, "the encoder ran for an empty question"
    # CLI: exit 2, one line, no traceback.
    index_dir = str(hash_index.index_dir)
    assert cli_main(["ask", "\u3000", "--index", index_dir, "--corpus", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "Error: Please enter a question." and "Traceback" not in err
    # Raw HTTP and gradio_client against a real `askcorpus serve`.
    for question in ["", " ", "\u200b"]:
        event, payload = server.ask([question, 5, None])
        assert event == "error" and payload["error"] == "Please enter a question.", payload
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False)
    with pytest.raises(Exception, match="Please enter a question"):
        client.predict("\n\t", 5, None, api_name="/ask")


# --------------------------------------------------------------------------- T2
@pytest.mark.web
def test_t02_overlong_question(hash_index, server):
    spy = SpyEncoder(hash_index.encoder())
    hash_index._encoder = spy
    for size in (10_000, 1_000_000, 10_000_000):
        question = "why " * (size // 4)
        started = time.perf_counter()
        with pytest.raises(QuestionError, match="the limit is 2000") as caught:
            hash_index.ask(question)
        assert time.perf_counter() - started < 0.05, f"{size} chars took too long to reject"
        assert str(size) in str(caught.value)
    assert spy.calls == 0
    # 10 MB over raw HTTP: rejected with the limit; the server answers the next question.
    body = json.dumps({"data": ["x" * 10_000_000, 5, None]}).encode()
    started = time.perf_counter()
    event, payload = server.ask(body, timeout=60)
    elapsed = time.perf_counter() - started
    assert event == "error" and "limit is 2000" in payload["error"], (event, str(payload)[:300])
    assert elapsed < 20
    started = time.perf_counter()
    event, payload = server.ask(["Who owns the river dam water?", 3, None])
    assert event == "complete" and payload[0]["status"] in ("answered", "contested")
    assert time.perf_counter() - started < 10


# --------------------------------------------------------------------------- T3
@pytest.mark.web
def test_t03_control_characters(hash_index, server, capsys, caplog):
    hostile = "\x1b[31mriver\x07 dam\x00 water\x85\x9b2J\u202e?"
    answer = hash_index.ask(hostile)
    for bad in ("\x1b", "\x00", "\x07", "\x85", "\x9b", "\u202e"):
        assert bad not in answer.question
    assert "river" in answer.question and "dam" in answer.question
    outputs = [render.to_text(answer), render.to_markdown(answer), render.answer_html(answer)]
    index_dir = str(hash_index.index_dir)
    assert cli_main(["ask", hostile, "--index", index_dir, "--corpus", "/nonexistent"]) == 0
    assert cli_main(["ask", hostile, "--json", "--index", index_dir]) == 0
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]
    for text in outputs:
        assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    event, payload = server.ask([hostile, 3, None])
    assert event == "complete" and "\x1b" not in payload[0]["question"]
    log = server.log_bytes()
    assert b"\x1b" not in log and b"\x00" not in log


# --------------------------------------------------------------------------- T4
@pytest.mark.web
def test_t04_lone_surrogate(hash_index, server):
    with pytest.raises(QuestionError, match="invalid text"):
        hash_index.ask("dam \ud800 water")
    # The literal JSON escape \ud800 in the body, exactly as a hostile client would send it.
    body = b'{"data": ["river dam \\ud800", 5, null]}'
    event, payload = server.ask(body)
    assert event == "error" and "invalid text" in payload["error"], payload
    assert "UnicodeEncodeError" not in json.dumps(payload)
    event, _ = server.ask(["river dam", 3, None])
    assert event == "complete"


# --------------------------------------------------------------------------- T5
def test_t05_unicode_variants(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {
        "cafe.txt": "The café on the square serves coffee every morning to the farmers.\n",
        "office.txt": "The office filed the financial report for the river project.\n",
        "dam.txt": "The dam on the river was finished in spring by the engineers.\n",
    })
    index = askcorpus.build(corpus, tmp_path / "index", model="hash:64")
    variants = [
        ["Which café serves coffee?", "Which cafe\u0301 serves coffee?",
         "Which ｃａｆé serves ｃｏｆｆｅｅ?"],
        ["Who filed the financial report?", "Who ﬁled the ﬁnancial report?",
         "Who ｆｉｌｅｄ the financial report?"],
    ]
    for group in variants:
        results = [[c.passage.passage_id for c in index.search(q, k=3)] for q in group]
        asks = [[c.passage.passage_id for c in index.ask(q).citations] for q in group]
        assert results[0], group
        assert all(r == results[0] for r in results), (group, results)
        assert all(a == asks[0] for a in asks), (group, asks)


# --------------------------------------------------------------------------- T6
def test_t06_stopwords_and_punctuation(seed_index):
    for question in ("the of and", "?!…", "...", "the the the ?"):
        first = seed_index.ask(question)
        second = seed_index.ask(question)
        assert first.to_dict() == second.to_dict(), question
        assert any("No searchable terms" in n for n in first.notices), (question, first.notices)
        assert [c.passage_id for c in _hits(seed_index, question)] == \
            [c.passage_id for c in _hits(seed_index, question)]


def _hits(index, question):
    return [c.passage for c in index.search(question, k=5)]


# --------------------------------------------------------------------------- T7
def test_t07_non_english_questions(seed_index, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {
        "de.txt": "Der Staudamm am Fluss wurde im Frühling fertiggestellt. Die Bauern im Tal "
                  "bekommen jetzt genug Wasser für ihre Felder, sagte der Bürgermeister.\n",
        "ja.txt": "東京の桜は三月の終わりに咲き始めます。多くの人々が公園で花見を楽しみます。"
                  "今年は例年より早く開花しました。\n",
        "ar.txt": "افتتحت المدينة مكتبة عامة جديدة في وسط البلد. تضم المكتبة آلاف الكتب باللغة "
                  "العربية وقاعات للقراءة مفتوحة للجميع.\n",
        "en.txt": "The football team won the national championship after a dramatic final "
                  "match in the capital city.\n",
    })
    index = askcorpus.build(corpus, tmp_path / "index")  # the real model (already loaded)
    cases = {"Wann wurde der Staudamm fertiggestellt?": "de",
             "桜はいつ咲きますか？": "ja",
             "ماذا افتتحت المدينة؟": "ar",
             "Who won the championship?": "en"}
    for question, doc in cases.items():
        answer = index.ask(question)
        if answer.status == "no_answer":
            assert any("No passage" in n for n in answer.notices)
        else:
            assert answer.citations[0].document.doc_id == doc, (question, answer.to_dict())


# --------------------------------------------------------------------------- T8
def test_t08_markup_in_question(hash_index):
    for question in ("<script>alert(1)</script> dam", "**x** river",
                     "[a](javascript:alert(1)) water", "<img src=x onerror=alert(1)>"):
        answer = hash_index.ask(question)
        page = render.answer_html(answer, hash_index.perspectives, show_nearest=True)
        assert "<script" not in page and "<img" not in page
        assert 'href="javascript' not in page and "<a " not in page.split("ac-question")[1][:200]
        if "<script>" in question:
            assert "&lt;script&gt;" in page
        markdown = render.to_markdown(answer)
        assert not re.search(r"(?<!\\)<(script|img)", markdown), markdown  # only as \<script
        assert not re.search(r"(?<!\\)\]\(javascript", markdown), markdown  # no live link


# --------------------------------------------------------------------------- T9
@pytest.mark.parametrize("k", [0, -1, 10**9, "abc", math.nan, math.inf, 2.5, None, True, [5]])
def test_t09_k_out_of_range(hash_index, k):
    tracemalloc.start()
    try:
        with pytest.raises(QuestionError, match="number of passages"):
            hash_index.ask("river dam", k=k)
        with pytest.raises(QuestionError, match="number of passages"):
            hash_index.search("river dam", k=k)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"k={k!r} allocated {peak} bytes"


# --------------------------------------------------------------------------- T10
@pytest.mark.web
def test_t10_unknown_perspective(hash_index, server, capsys):
    hostile = "<img src=x onerror=alert(1)>\n\x1b[2J"
    with pytest.raises(QuestionError) as caught:
        hash_index.ask("river dam", perspectives=[hostile])
    message = str(caught.value)
    assert "neutral, north, south" in message
    assert "\n" not in message and "\x1b" not in message  # shown through repr()
    with pytest.raises(QuestionError, match="choose from"):
        hash_index.search("river dam", perspectives=["nowhere"])
    with pytest.raises(QuestionError, match="choose from"):
        hash_index.ask("river dam", documents=["no-such-doc"])
    index_dir = str(hash_index.index_dir)
    code = cli_main(["ask", "river dam", "--perspective", "nowhere", "--index", index_dir])
    err = capsys.readouterr().err
    assert code == 2 and "choose from: neutral, north, south" in err
    assert len(err.strip().splitlines()) == 1
    event, payload = server.ask(["river dam", 3, [hostile]])
    assert event == "error" and "choose from" in payload["error"]
    assert "\x1b" not in payload["error"]


# --------------------------------------------------------------------------- T11
def test_t11_path_like_question(seed_index):
    index_dir = Path(seed_index.index_dir)
    seed_index.ask("warm up the encoder and the tokenizer")
    questions = ["/etc/passwd", "../../x", "http://169.254.169.254/latest/meta-data/",
                 "file:///etc/shadow", "\\\\host\\share\\x"]
    with audited() as events:
        answers = [seed_index.ask(q) for q in questions]
        searched = [seed_index.search(q, k=3) for q in questions]
    assert [a.question for a in answers] == questions
    assert all(isinstance(s, list) for s in searched)
    corpus_root = Path(seed_index.manifest.corpus.root)
    outside = opens_outside(events, index_dir, corpus_root)
    assert not outside, outside
    network = [e for e in events if e[0] != "open"]
    assert not network, network
    assert not any(Path(t).name in ("passwd", "shadow", "x") for k, t in events if k == "open")
