"""Rendering: escaping (T8, T23, T24), contested columns, and hiding no_answer passages."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from askcorpus import render
from askcorpus.types import Answer, BalanceRow, Perspective
from ui_helpers import (
    HOSTILE,
    LABELS,
    PERSPECTIVES,
    answered_answer,
    contested_answer,
    make_citation,
    make_document,
    no_answer,
)

INJECTIONS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
]


def _no_live_markup(out: str) -> None:
    """No element or attribute that a hostile string could have smuggled in."""
    assert "<script" not in out.lower()
    assert "<img" not in out.lower()
    assert "<svg" not in out.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", out, re.IGNORECASE)
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', out)).lower()


# --------------------------------------------------------------------------- escaping helpers


@pytest.mark.parametrize("text", INJECTIONS)
def test_escape_neutralises_markup(text: str) -> None:
    out = render.escape(text)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",
        "https:evil",
        "/relative/path",
        "",
        None,
    ],
)
def test_safe_link_refuses_non_http_urls(url: str | None) -> None:
    out = render.safe_link(url, "Title")
    assert "<a " not in out
    assert "Title" in out
    _no_live_markup(out)


def test_safe_link_links_http_and_escapes_quotes() -> None:
    out = render.safe_link('https://example.org/?q="x" onclick=alert(1)', "<b>T</b>")
    # The URL contains a space so it is refused; a clean URL with quotes is linked but escaped.
    assert "<a " not in out
    out = render.safe_link('https://example.org/?q="x"', "<b>T</b>")
    assert out.startswith('<a href="https://example.org/?q=&quot;x&quot;"')
    assert 'rel="noopener noreferrer nofollow"' in out
    assert "&lt;b&gt;T&lt;/b&gt;" in out


# --------------------------------------------------------------------------- T23: stored XSS


@pytest.mark.parametrize("payload", INJECTIONS)
def test_answer_html_escapes_passages_and_catalog_fields(payload: str) -> None:
    answer = answered_answer(
        text=f"Normal words {payload} more words.",
        title=payload,
        publisher=payload,
        date=payload,
        url="javascript:alert(1)",
    )
    answer = dataclasses.replace(answer, notices=(payload,))
    out = render.answer_html(answer, PERSPECTIVES)
    _no_live_markup(out)
    assert render.escape(payload) in out


def test_hostile_passage_is_visible_as_text() -> None:
    out = render.answer_html(answered_answer(text=f"Start {HOSTILE} end."), PERSPECTIVES)
    _no_live_markup(out)
    assert "&lt;img src=x onerror=window.__pwned=2&gt;" in out


def test_speaker_and_perspective_strings_are_escaped() -> None:
    doc = make_document(text="Quoted statement.")
    cite = make_citation(
        1, doc, perspective="<x>", speaker="<script>s</script>", speaker_title="<img src=x>"
    )
    answer = Answer("q", "answered", citations=(cite,), perspective_labels=(("<x>", "<svg>"),))
    out = render.answer_html(answer, {"<x>": Perspective("<x>", "<svg>", color="red;x:url(y)")})
    _no_live_markup(out)
    assert "red;x" not in out  # a non-hex colour never reaches a style attribute


def test_document_html_escapes_and_marks_span() -> None:
    text = f"Intro line.\n{HOSTILE}\nThe target sentence.\nOutro."
    start = text.index("The target")
    doc = make_document(text=text, title="<script>t</script>", url="javascript:x")
    out = render.document_html(doc, start, start + len("The target sentence."))
    _no_live_markup(out)
    assert '<mark id="ac-target">The target sentence.</mark>' in out
    assert "white-space:pre-wrap" in out
    assert out.count('id="ac-target"') == 1


def test_document_html_clamps_offsets() -> None:
    doc = make_document(text="short")
    assert 'id="ac-target"' in render.document_html(doc, -5, 500)
    assert "ac-target" not in render.document_html(doc, 4, 2)


# --------------------------------------------------------------------------- T8: the question


@pytest.mark.parametrize("question", ["<script>alert(1)</script>", "**x**", "[a](javascript:x)"])
def test_question_is_echoed_literally(question: str) -> None:
    answer = dataclasses.replace(no_answer(), question=question)
    out = render.answer_html(answer)
    _no_live_markup(out)
    assert render.escape(question) in out
    assert "<strong>" not in out and "<em>" not in out


# --------------------------------------------------------------------------- T24: markdown


MD_ATTACKS = [
    "![](https://evil/px)",
    "[x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "# H1",
    "$$\\href{https://evil}{x}$$",
    "<https://evil.example>",
    "1. list\n- item\n===",
    "&lt;script&gt;",
]


@pytest.mark.parametrize("attack", MD_ATTACKS)
def test_markdown_export_cannot_be_turned_into_markup(attack: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    answer = answered_answer(text=f"Words {attack} words.", title=attack, url="javascript:x")
    rendered = markdown_it.MarkdownIt("commonmark").render(render.to_markdown(answer))
    assert "<img" not in rendered
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', rendered))
    assert "evil" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', rendered))
    assert "<script" not in rendered


def test_md_escape_round_trips_to_the_same_text() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    text = "Stop *this* [now](x) ![](y) #1 $5 & <b> 1. a_b"
    rendered = markdown_it.MarkdownIt("commonmark").render(render.md_escape(text))
    plain = re.sub(r"<[^>]+>", "", rendered).strip()
    assert plain.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") == text


def test_markdown_export_structure() -> None:
    md = render.to_markdown(contested_answer())
    assert md.startswith("# Is the fighting on Armenian territory?")
    assert "**Status:** Sources disagree — 2 sides shown." in md
    assert md.index("## Summary") < md.index("## Azerbaijani side") < md.index("## References")
    assert "According to Nasimi Aghayev, consul general of Azerbaijan:" in md
    assert "From *Stop the War*:" in md
    assert "    - [12] A footnote source." in md
    assert "<https://example.org/a>" in md


def test_markdown_no_answer_has_no_quotes() -> None:
    md = render.to_markdown(no_answer())
    assert "No answer in this corpus" in md
    assert "Bananas" not in md and "## References" not in md


# --------------------------------------------------------------------------- layout


def test_summary_comes_first() -> None:
    out = render.answer_html(contested_answer(), PERSPECTIVES)
    assert out.index("ac-banner") < out.index("ac-summary") < out.index("ac-card")


def test_contested_answer_has_one_column_per_side() -> None:
    out = render.answer_html(contested_answer(), PERSPECTIVES)
    assert 'data-status="contested"' in out
    assert re.findall(r'class="ac-side" data-side="(\w+)"', out) == ["azerbaijani", "armenian"]
    assert "Sources disagree — 2 sides shown" in out
    assert "border-top-color:#1f6f8b" in out
    assert "According to <bdi>Nasimi Aghayev, consul general of Azerbaijan</bdi>:" in out
    # A quote of the Azerbaijani side inside an international report names the publisher's side.
    assert "published by" in out


def test_cards_carry_ids_highlight_location_and_footnotes() -> None:
    answer = contested_answer()
    out = render.answer_html(answer, PERSPECTIVES)
    assert 'data-passage-id="report:1"' in out and 'data-passage-id="petition:2"' in out
    assert f"<mark>{answer.citations[0].highlighted_text}</mark>" in out
    assert "paragraph 2 of 7" in out
    assert '<li value="12">A footnote source.</li>' in out
    assert '<a href="https://example.org/a" target="_blank"' in out


def test_answered_is_a_ranked_list() -> None:
    out = render.answer_html(answered_answer(), PERSPECTIVES)
    assert "ac-ranked" in out and "ac-side" not in out
    assert "Answered from 1 source<" in out


def test_no_answer_hides_nearest_unless_asked() -> None:
    answer = no_answer()
    hidden = render.answer_html(answer, PERSPECTIVES)
    assert "No answer in this corpus" in hidden
    assert "Bananas" not in hidden and "ac-card" not in hidden
    shown = render.answer_html(answer, PERSPECTIVES, show_nearest=True)
    assert "do NOT answer the question" in shown
    assert shown.index("do NOT answer") < shown.index("Bananas")
    assert "ac-summary" not in shown


def test_to_text_layout() -> None:
    text = render.to_text(contested_answer())
    lines = text.splitlines()
    assert lines[1] == "Sources disagree — 2 sides shown."
    assert text.index("Summary:") < text.index('[1] "Aghayev said')
    assert (
        "    — Demonstrations Continue — CBSLA, 2020-10; perspective Azerbaijani side; "
        "speaker Nasimi Aghayev, consul general of Azerbaijan; paragraph 2 of 7 (chars 0-70); "
        "https://example.org/a"
    ) in lines
    assert "      [12] A footnote source." in lines


def test_to_text_no_answer_and_control_characters() -> None:
    text = render.to_text(no_answer())
    assert "No answer in this corpus." in text and "Bananas" not in text
    assert "do NOT answer" in render.to_text(no_answer(), show_nearest=True)
    hostile = render.to_text(answered_answer(text="red \x1b[31m alert\x07"))
    assert "\x1b" not in hostile and "\\x1b[31m" in hostile


def test_balance_html_bars() -> None:
    rows = (
        BalanceRow("armenian", "Armenian side", 4, 75, 60),
        BalanceRow("azerbaijani", "Azerbaijani side", 0, 0, 15),
        BalanceRow("international", "<script>x</script>", 1, 25, 25),
    )
    out = render.balance_html(rows, PERSPECTIVES)
    _no_live_markup(out)
    assert out.count('class="ac-bar"') == 2
    assert "Armenian side: 75 (75.0%)" in out and "Azerbaijani side: 15 (15.0%)" in out
    assert "width:75.000%;background:#b4532a" in out
    assert "(100 passages)" in out


def test_balance_html_empty_corpus() -> None:
    out = render.balance_html((BalanceRow("x", "X", 0, 0, 0),), {})
    assert "X: 0 (0.0%)" in out


def test_labels_fall_back_to_answer_labels() -> None:
    out = render.answer_html(contested_answer())  # no perspectives mapping passed
    assert "Azerbaijani side" in out and dict(LABELS)["armenian"] in out


def test_render_depends_only_on_types() -> None:
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module
        for module in Path(render.__file__).parent.glob("*.py")
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    ours = {m for m in imported if m and m.startswith("askcorpus")}
    assert {m for m in ours if not m.startswith("askcorpus.render.")} == {"askcorpus.types"}
    assert not {m for m in imported if m and m.split(".")[0] in ("gradio", "markdown_it")}


@pytest.mark.parametrize("prose", [
    "The State Security Service (SSR) said so.[1]",
    "Snake_case, 50% of #1 and $5 (or €5) - all plain; a > b, a < b & c.",
    "Armenia [Artsakh] reported 1. one thing and 2) another.",
])
def test_md_escape_leaves_plain_prose_alone(prose: str) -> None:
    """The export reads like the document: no backslash where Markdown would not act."""
    assert render.md_escape(prose) == prose


def test_markdown_export_of_seed_like_text_has_no_visible_escapes() -> None:
    answer = answered_answer(text="The Soviet Socialist Republic (SSR) was named.[1]")
    md = render.to_markdown(answer)
    assert "\\" not in md, md


def test_md_escape_defeats_gfm_bare_autolinks() -> None:
    out = render.md_escape("see https://evil.example, www.evil.example and me@evil.example")
    assert "https\\://evil" in out and "www\\.evil" in out and "me\\@evil" in out


@pytest.mark.parametrize("sentence", ['"There is no fighting on the territory of Armenia."',
                                      "“There is no fighting.”"])
def test_a_summary_sentence_that_is_a_quotation_is_not_quoted_twice(sentence: str) -> None:
    answer = contested_answer()
    line = dataclasses.replace(answer.summary[0], text=sentence)
    answer = dataclasses.replace(answer, summary=(line, *answer.summary[1:]))
    inner = sentence[1:-1]
    for out in (render.to_text(answer), render.to_markdown(answer),
                render.answer_html(answer, PERSPECTIVES)):
        assert inner in out.replace("&quot;", '"')
        for doubled in ('""', "“\"", "““", "“&quot;", "\"”"):
            assert doubled + inner[:5] not in out
    plain = dataclasses.replace(answer, summary=(dataclasses.replace(line, text=inner),))
    assert f"“{inner}”" in render.to_markdown(plain)


def test_json_is_the_answer_dict_verbatim() -> None:
    """One serialiser for `ask --json`, answer.json and the HTTP API: the dict, nothing added."""
    import json

    answer = answered_answer("Ünïcode “quotes” stay as they are.")
    pretty, compact = render.to_json(answer), render.to_json(answer, indent=None)
    assert json.loads(pretty) == json.loads(compact) == answer.to_dict()
    assert "“quotes”" in compact and "\n" not in compact and "\n  " in pretty
