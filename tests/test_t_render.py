"""Reliability matrix T23-T24: corpus and catalog strings are shown, never executed or rendered."""

from __future__ import annotations

import re

import pytest

from askcorpus import render
from askcorpus.types import Answer, Perspective, SummaryLine
from ui_helpers import LABELS, PERSPECTIVES, make_citation, make_document

XSS = [
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<script>alert(1)</script>",
    "\"><script>alert(1)</script>",
    "' onmouseover='alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=//evil.example></iframe>",
]
BAD_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
            "//evil.example/x", "java\nscript:alert(1)", "https://ok.example/\" onclick=\"x"]


def _answer(text: str, *, title: str, url: str | None, publisher: str | None = "Pub",
            speaker: str | None = None, label: str = "Side") -> Answer:
    doc = make_document(text=text, title=title, url=url, publisher=publisher)
    cite = make_citation(1, doc, speaker=speaker, speaker_title=speaker)
    return Answer(question=text[:50], status="answered", citations=(cite,),
                  sides=((doc.perspective, (1,)),),
                  summary=(SummaryLine(doc.perspective, text, 1),),
                  notices=(text,), nearest=(cite,),
                  perspective_labels=((doc.perspective, label),))


def _assert_inert(page: str) -> None:
    assert not re.search(r"<(script|img|svg|iframe)\b", page, re.I), page
    for tag in re.findall(r"<[^>]+>", page):  # no event handler attribute in any real tag
        assert not re.search(r"\son[a-z]+\s*=", tag, re.I), tag
        assert "javascript:" not in tag.lower() and "data:" not in tag.lower(), tag


# --------------------------------------------------------------------------- T23
@pytest.mark.parametrize("payload", XSS)
def test_t23_stored_xss(payload):
    answer = _answer(f"Before {payload} after.", title=f"Title {payload}", url=None,
                     publisher=payload, speaker=payload, label=payload)
    perspectives = {**PERSPECTIVES, "international": Perspective("international", payload,
                                                                 color=f"red;{payload}")}
    for page in (render.answer_html(answer, perspectives, show_nearest=True),
                 render.answer_html(answer, perspectives),
                 render.document_html(answer.citations[0].document, 0, 10),
                 render.balance_html((), perspectives)):
        _assert_inert(page)
    page = render.answer_html(answer, perspectives, show_nearest=True)
    assert render.escape(payload) in page  # shown as literal text
    for url in BAD_URLS:
        linked = render.answer_html(_answer("Text.", title="T", url=url), PERSPECTIVES)
        _assert_inert(linked)
        assert not re.search(r"<a\b[^>]*href=\"(?!#ac-cite-)", linked), url
        assert render.safe_url(url) is None
    ok = render.answer_html(_answer("Text.", title="T", url="https://example.org/a?b=1&c=2"),
                            PERSPECTIVES)
    assert '<a href="https://example.org/a?b=1&amp;c=2"' in ok
    text = render.to_text(answer)
    assert "\x1b" not in text


# --------------------------------------------------------------------------- T24
INJECTIONS = [
    "![](https://evil.example/px.png)",
    "[click](javascript:alert(1))",
    "# H1 heading",
    "$$\\href{javascript:alert(1)}{x}$$",
    "<https://evil.example/auto>",
    "www.evil.example and https://evil.example/bare",
    "Bidi \u202eevil\u202c and zero\u200bwidth \u2066isolate\u2069",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "1. list\n- item\n> quote",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_t24_markdown_latex_bidi(text):
    answer = _answer(text, title=text, url=None, publisher=text)
    page = render.answer_html(answer, PERSPECTIVES, show_nearest=True)
    _assert_inert(page)
    links = re.findall(r"<a\b[^>]*>", page)
    assert all('href="#ac-cite-' in a for a in links), links  # only in-page citation links
    assert "<h1" not in page and "<table" not in page
    assert render.escape(text) in page  # verbatim, as text
    markdown = render.to_markdown(answer)
    assert "![](" not in markdown and not re.search(r"(?<!\\)\]\(javascript", markdown)
    assert not re.search(r"(?<!\\)\$\$", markdown)  # math delimiters escaped
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").render(markdown)
    assert rendered.count("<h1>") == 1  # the question's title only: no heading from a document
    assert "<https://evil" not in markdown
    # Bidi and zero-width characters stay verbatim inside <bdi> isolation in HTML.
    if "\u202e" in text:
        assert "\u202e" in page and "<bdi>" in page
    assert LABELS
