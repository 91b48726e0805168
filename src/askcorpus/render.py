"""Rendering: an Answer as terminal text, a Markdown export, or escaped HTML for the web UI."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from askcorpus.types import Answer, BalanceRow, Citation, Document, Perspective, Reference

__all__ = [
    "CSS",
    "answer_html",
    "balance_html",
    "document_html",
    "escape",
    "md_escape",
    "safe_link",
    "safe_url",
    "status_line",
    "to_markdown",
    "to_text",
]

DEFAULT_COLOR = "#666666"
# Only a plain hex colour may reach a style attribute: a catalog colour such as
# "red;background:url(https://evil)" would otherwise inject CSS.
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")
# Terminal control characters (ANSI escapes, backspace...) in a document could rewrite what a
# terminal shows; newline and tab are the only ones a reader needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every character CommonMark/GFM can read as markup, plus '$' (LaTeX math in many renderers)
# and '@' (GFM autolinks bare e-mail addresses).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&^@])")
# GFM also autolinks bare "scheme://" and "www." text: escaping that one ':' or '.' stops it.
_MD_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=\bwww)(\.)", re.IGNORECASE)
# Markup that only counts at the start of a line: bullet markers, setext underlines, and the
# dot of an ordered-list number ("1." becomes "1\.", a backslash before a digit is literal).
_MD_BULLET = re.compile(r"^(\s*)([-=])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


# --------------------------------------------------------------------------- escaping


# A summary sentence that is itself a quotation keeps its own marks ("…" not ""…"").
_OPENING_MARKS = "\"“'‘«"
_CLOSING_MARKS = "\"”'’»"


def _quoted(text: str, left: str, right: str) -> str:
    text = text.strip()
    if len(text) > 1 and text[0] in _OPENING_MARKS and text[-1] in _CLOSING_MARKS:
        return text
    return f"{left}{text}{right}"


def escape(text: str | None) -> str:
    """Escape any corpus, catalog or user string for HTML text and attribute values."""
    return html.escape(text or "", quote=True)


def safe_url(url: str | None) -> str | None:
    """Return ``url`` if it is an absolute http(s) URL without whitespace, else ``None``."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def safe_link(url: str | None, label: str) -> str:
    """An ``<a>`` to ``url`` if it is http(s); otherwise the label, and the URL as plain text."""
    if safe_url(url) is not None:
        return (
            f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"<bdi>{escape(label)}</bdi></a>"
        )
    if url:
        return f'<bdi>{escape(label)}</bdi> <span class="ac-url">({escape(url)})</span>'
    return f"<bdi>{escape(label)}</bdi>"


def md_escape(text: str | None) -> str:
    """Backslash-escape Markdown in document text so it shows verbatim and never becomes markup.

    A passage ``![](https://evil/px)`` would otherwise load a remote image in whatever renders the
    export, ``[x](javascript:...)`` would become a link, ``<script>`` raw HTML and ``$$...$$``
    math. Every ASCII punctuation mark that CommonMark can read as markup is escaped (a
    backslash before ASCII punctuation always renders as the character itself), line-start
    list markers are escaped too, and so are the ``:`` of ``https://`` and the ``.`` of ``www.``
    so that GFM does not autolink bare URLs.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", text or "")
    escaped = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(), escaped)
    escaped = _MD_BULLET.sub(r"\1\\\2", escaped)
    return _MD_ORDERED.sub(r"\1\\.", escaped)


def _md_url(url: str | None) -> str:
    """A Markdown autolink for an http(s) URL; anything else as escaped plain text."""
    if safe_url(url) is None:
        return md_escape(url)
    return f"<{quote(url or '', safe=':/?#[]@!$&()*+,;=%~-._')}>"


def _terminal(text: str | None) -> str:
    """Neutralise control characters so document text cannot drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text or "")


def _color(perspective: str, perspectives: Mapping[str, Perspective]) -> str:
    p = perspectives.get(perspective)
    color = p.color if p is not None else DEFAULT_COLOR
    return color if _HEX_COLOR.fullmatch(color) else DEFAULT_COLOR


def _labels(answer: Answer, perspectives: Mapping[str, Perspective]) -> dict[str, str]:
    labels = {pid: p.label for pid, p in perspectives.items()}
    labels.update(dict(answer.perspective_labels))
    return labels


# --------------------------------------------------------------------------- shared wording


def _source_count(answer: Answer) -> int:
    return len({c.document.doc_id for c in answer.citations})


def status_line(answer: Answer) -> str:
    """The one-line verdict shown above every answer."""
    if answer.status == "no_answer":
        return "No answer in this corpus"
    if answer.status == "contested":
        k = len([side for side, ns in answer.sides if ns])
        return f"Sources disagree — {k} sides shown"
    n = _source_count(answer)
    return f"Answered from {n} source{'s' if n != 1 else ''}"


def _speaker(c: Citation) -> str | None:
    """'Name, title' of the quoted speaker, or None for the document's own narration."""
    if not c.passage.speaker:
        return None
    if c.speaker_title:
        return f"{c.passage.speaker}, {c.speaker_title}"
    return c.passage.speaker


def _groups(answer: Answer) -> list[tuple[str | None, list[Citation]]]:
    """Citations grouped by side for contested answers (rest under None); one ranked group else."""
    if answer.status != "contested":
        return [(None, list(answer.citations))]
    by_n = {c.n: c for c in answer.citations}
    groups: list[tuple[str | None, list[Citation]]] = []
    seen: set[int] = set()
    for side, ns in answer.sides:
        cites = [by_n[n] for n in ns if n in by_n]
        if cites:
            groups.append((side, cites))
            seen.update(c.n for c in cites)
    rest = [c for c in answer.citations if c.n not in seen]
    if rest:
        groups.append((None, rest))
    return groups


# --------------------------------------------------------------------------- terminal text


def _text_source(c: Citation, labels: Mapping[str, str]) -> str:
    d, p = c.document, c.passage
    head = " — ".join(x for x in (d.title, ", ".join(filter(None, (d.publisher, d.date)))) if x)
    parts = [head, f"perspective {labels.get(p.perspective, p.perspective)}"]
    speaker = _speaker(c)
    if speaker:
        parts.append(f"speaker {speaker}")
    parts.append(f"paragraph {p.paragraph} of {p.paragraphs} (chars {p.start}-{p.end})")
    if d.url:
        parts.append(d.url)
    return _terminal("    — " + "; ".join(parts))


def _indented(text: str, indent: str) -> str:
    """Continuation lines of a multi-line quote, indented under its first line."""
    lines = _terminal(text.strip()).split("\n")
    return ("\n" + indent).join(line.rstrip() for line in lines).replace(indent + "\n", "\n")


def _text_citation(c: Citation, labels: Mapping[str, str]) -> list[str]:
    lines = [f'[{c.n}] "{_indented(c.text, "    ")}"', _text_source(c, labels)]
    lines += [f"      [{r.number}] {_indented(r.text, '        ')}" for r in c.references]
    return lines


def to_text(answer: Answer, *, show_nearest: bool = False) -> str:
    """A readable terminal answer: status, notices, summary, then each quote with its source.

    Args:
        answer: what ``Index.ask`` returned.
        show_nearest: for a ``no_answer``, also list the closest passages, clearly marked as
            not answering the question.
    """
    labels = _labels(answer, {})
    lines = [_terminal(f"Question: {answer.question}")]
    if answer.status == "no_answer":
        lines.append("No answer in this corpus.")
    else:
        lines.append(status_line(answer) + ".")
    lines += [_terminal(f"Note: {n}") for n in answer.notices]
    if answer.status == "no_answer":
        if show_nearest and answer.nearest:
            lines += ["", "Closest passages (they do NOT answer the question):"]
            for c in answer.nearest:
                lines += _text_citation(c, labels)
        return "\n".join(lines) + "\n"
    if answer.summary:
        lines += ["", "Summary:"]
        for s in answer.summary:
            label = labels.get(s.perspective, s.perspective)
            quote = _quoted(s.text, '"', '"')
            lines.append(_terminal(f"  [{s.citation}] ({label}) {quote}"))
    for side, cites in _groups(answer):
        lines.append("")
        if answer.status == "contested":
            lines += [f"== {labels.get(side, side) if side else 'Other sources'} ==", ""]
        for c in cites:
            lines += _text_citation(c, labels)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- markdown export


def _md_attribution(c: Citation) -> str:
    speaker = _speaker(c)
    if speaker:
        return f"According to {md_escape(speaker)}:"
    publisher = f" ({md_escape(c.document.publisher)})" if c.document.publisher else ""
    return f"From *{md_escape(c.document.title)}*{publisher}:"


def _md_quote(c: Citation) -> list[str]:
    body = [f"> {md_escape(line)}".rstrip() for line in c.text.strip().split("\n")]
    return [f"**[{c.n}]** {_md_attribution(c)}", "", *body, ""]


def _md_reference(c: Citation, labels: Mapping[str, str]) -> list[str]:
    d = c.document
    meta = ", ".join(md_escape(x) for x in (d.publisher, d.date) if x)
    label = md_escape(labels.get(c.perspective, c.perspective))
    line = f"{c.n}. *{md_escape(d.title)}*{' — ' + meta if meta else ''}. {c.location()}."
    line += f" Perspective: {label}."
    if d.url:
        line += f" {_md_url(d.url)}"
    notes = [f"    - \\[{r.number}\\] {md_escape(r.text.strip())}" for r in c.references]
    return [line, *notes]


def to_markdown(answer: Answer) -> str:
    """A Markdown export: question, status, summary, quotes, then numbered references.

    Everything that comes from a document, the catalog or the user goes through
    :func:`md_escape`, so the export shows it verbatim and no passage can turn into an image,
    a link, raw HTML or math when the file is rendered.
    """
    labels = _labels(answer, {})
    lines = [f"# {md_escape(answer.question)}", "", f"**Status:** {status_line(answer)}.", ""]
    lines += [f"- *Note:* {md_escape(n)}" for n in answer.notices]
    if answer.notices:
        lines.append("")
    if answer.status == "no_answer":
        return "\n".join(lines)
    if answer.summary:
        lines += ["## Summary", ""]
        for s in answer.summary:
            label = md_escape(labels.get(s.perspective, s.perspective))
            quote = md_escape(_quoted(s.text, "“", "”"))
            lines.append(f"- **{label}:** {quote} \\[{s.citation}\\]")
        lines.append("")
    for side, cites in _groups(answer):
        title = labels.get(side, side) if side else "Other sources"
        lines += [f"## {md_escape(title) if answer.status == 'contested' else 'Quotes'}", ""]
        for c in cites:
            lines += _md_quote(c)
    lines += ["## References", ""]
    for c in answer.citations:
        lines += _md_reference(c, labels)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- HTML


CSS = """
.ac-answer, .ac-doc, .ac-balance { font-size: 15px; line-height: 1.5; }
.ac-banner { padding: 10px 14px; border-radius: 6px; font-weight: 700; margin-bottom: 10px;
  background: #e8f0e8; color: #1d3b1d; }
.ac-banner[data-status="contested"] { background: #fdf1dc; color: #5a3b00; }
.ac-banner[data-status="no_answer"] { background: #eeeeee; color: #333333; }
.ac-question { color: #555555; margin: 0 0 8px 0; }
.ac-notices { margin: 0 0 10px 0; padding-left: 20px; color: #6b4a00; }
.ac-summary { margin: 6px 0 14px 0; }
.ac-summary ul { padding-left: 20px; margin: 4px 0; }
.ac-sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr));
  gap: 14px; align-items: start; }
.ac-side { border-top: 5px solid #666666; padding-top: 6px; min-width: 0; }
.ac-card { border: 1px solid #d8d8d8; border-radius: 6px; padding: 10px 12px; margin: 0 0 10px 0;
  background: #ffffff; color: #1a1a1a; }
.ac-text { white-space: pre-wrap; unicode-bidi: isolate; margin: 6px 0; padding-left: 10px;
  border-left: 3px solid #cccccc; overflow-wrap: anywhere; }
.ac-text mark, .ac-doc-text mark { background: #fff1a8; color: inherit; }
.ac-badge { display: inline-block; color: #ffffff; border-radius: 10px; padding: 0 8px;
  font-size: 12px; font-weight: 700; }
/* Gradio's prose styles colour every descendant; badges need white text on their colour. */
.ac-badge, .ac-badge * { color: #ffffff !important; }
.ac-card-head { font-size: 14px; }
.ac-source, .ac-refs { font-size: 13px; color: #444444; overflow-wrap: anywhere; }
.ac-attrib { font-weight: 700; }
.ac-nearest h3 { color: #6b4a00; }
.ac-doc-text { white-space: pre-wrap; unicode-bidi: isolate; max-height: 600px; overflow: auto;
  border: 1px solid #d8d8d8; padding: 10px; background: #ffffff; color: #1a1a1a;
  overflow-wrap: anywhere; }
.ac-bar { display: flex; height: 22px; border-radius: 4px; overflow: hidden; margin: 4px 0; }
.ac-seg { height: 100%; }
.ac-legend { font-size: 13px; margin-bottom: 10px; }
.ac-legend span { margin-right: 14px; }
.ac-swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
"""


def _badge(perspective: str, labels: Mapping[str, str], perspectives: Mapping[str, Perspective]):
    color = _color(perspective, perspectives)
    label = labels.get(perspective, perspective)
    return (
        f'<span class="ac-badge" data-perspective="{escape(perspective)}" '
        f'style="background:{color}"><bdi>{escape(label)}</bdi></span>'
    )


def _marked(text: str, start: int, end: int, mark_attrs: str = "") -> str:
    """``text`` escaped, with ``[start, end)`` (clamped to the text) wrapped in ``<mark>``."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if start >= end:
        return escape(text)
    return (
        f"{escape(text[:start])}<mark{mark_attrs}>{escape(text[start:end])}</mark>"
        f"{escape(text[end:])}"
    )


def _source_html(c: Citation, labels: Mapping[str, str], perspectives) -> str:
    d = c.document
    meta = ", ".join(f"<bdi>{escape(x)}</bdi>" for x in (d.publisher, d.date) if x)
    parts = [safe_link(d.url, d.title) + (f" — {meta}" if meta else "")]
    parts.append(f"paragraph {c.passage.paragraph} of {c.passage.paragraphs}")
    if d.perspective != c.perspective:
        # A quote of one side inside another side's document: say both, that is the point.
        parts.append(f"published by {_badge(d.perspective, labels, perspectives)}")
    return f'<div class="ac-source">{" · ".join(parts)}</div>'


def _refs_html(refs: Iterable[Reference]) -> str:
    items = [f'<li value="{int(r.number)}">{escape(r.text.strip())}</li>' for r in refs]
    if not items:
        return ""
    return (
        f'<details class="ac-refs"><summary>Footnotes cited ({len(items)})</summary>'
        f"<ol>{''.join(items)}</ol></details>"
    )


def _card(c: Citation, labels: Mapping[str, str], perspectives, extra_class: str = "") -> str:
    speaker = _speaker(c)
    attrib = (
        f'<span class="ac-attrib">According to <bdi>{escape(speaker)}</bdi>:</span>'
        if speaker
        else ""
    )
    start, end = c.highlight
    return (
        f'<article class="ac-card{extra_class}" id="ac-cite-{int(c.n)}" '
        f'data-passage-id="{escape(c.passage.passage_id)}" data-n="{int(c.n)}" '
        f'data-perspective="{escape(c.perspective)}">'
        f'<div class="ac-card-head"><span class="ac-num">[{int(c.n)}]</span> '
        f"{_badge(c.perspective, labels, perspectives)} {attrib}</div>"
        f'<blockquote class="ac-text">{_marked(c.text, start, end)}</blockquote>'
        f"{_source_html(c, labels, perspectives)}{_refs_html(c.references)}</article>"
    )


def _summary_html(answer: Answer, labels: Mapping[str, str], perspectives) -> str:
    if not answer.summary:
        return ""
    items = [
        f'<li data-side="{escape(s.perspective)}">{_badge(s.perspective, labels, perspectives)} '
        f"{escape(_quoted(s.text, '“', '”'))} "
        f'<a class="ac-ref" href="#ac-cite-{int(s.citation)}">[{int(s.citation)}]</a></li>'
        for s in answer.summary
    ]
    return f'<section class="ac-summary"><h3>Summary</h3><ul>{"".join(items)}</ul></section>'


def _sides_html(answer: Answer, labels: Mapping[str, str], perspectives) -> str:
    columns = []
    for side, cites in _groups(answer):
        key = side or "other"
        title = labels.get(side, side) if side else "Other sources"
        color = _color(side, perspectives) if side else DEFAULT_COLOR
        cards = "".join(_card(c, labels, perspectives) for c in cites)
        columns.append(
            f'<section class="ac-side" data-side="{escape(key)}" '
            f'style="border-top-color:{color}"><h3><bdi>{escape(title)}</bdi> '
            f"({len(cites)})</h3>{cards}</section>"
        )
    return f'<div class="ac-sides" style="display:grid">{"".join(columns)}</div>'


def _answer_body(answer: Answer, labels: Mapping[str, str], perspectives) -> str:
    """Side-by-side columns for a contested answer, a ranked list otherwise."""
    if answer.status == "contested":
        return _sides_html(answer, labels, perspectives)
    cards = "".join(_card(c, labels, perspectives) for c in answer.citations)
    return f'<div class="ac-ranked">{cards}</div>'


def answer_html(
    answer: Answer,
    perspectives: Mapping[str, Perspective] | None = None,
    *,
    show_nearest: bool = False,
) -> str:
    """The answer as HTML for ``gr.HTML``: banner, notices, summary, then the citation cards.

    Every string from the corpus, the catalog or the user is escaped here; ``gr.HTML`` does no
    sanitising of its own. A contested answer shows one column per side; a ``no_answer`` shows
    no passage as an answer, and its nearest passages only when ``show_nearest`` is set, under
    a heading that says they do not answer the question.
    """
    perspectives = perspectives or {}
    labels = _labels(answer, perspectives)
    status = escape(answer.status)
    parts = [
        f'<div class="ac-answer" data-status="{status}">',
        f'<div class="ac-banner" role="status" data-status="{status}">',
        f"{escape(status_line(answer))}</div>",
        f'<p class="ac-question">Question: <bdi>{escape(answer.question)}</bdi></p>',
    ]
    if answer.notices:
        notes = "".join(f"<li>{escape(n)}</li>" for n in answer.notices)
        parts.append(f'<ul class="ac-notices">{notes}</ul>')
    if answer.status == "no_answer":
        if show_nearest and answer.nearest:
            cards = "".join(_card(c, labels, perspectives, " ac-near") for c in answer.nearest)
            parts.append(
                '<section class="ac-nearest"><h3>Closest passages — these do NOT answer the '
                f"question</h3>{cards}</section>"
            )
    else:
        parts.append(_summary_html(answer, labels, perspectives))
        parts.append(_answer_body(answer, labels, perspectives))
    parts.append("</div>")
    return "".join(parts)


def document_html(document: Document, start: int, end: int) -> str:
    """The whole document, escaped, with ``[start, end)`` in ``<mark id="ac-target">``.

    The caller scrolls the mark into view (the UI does it with a client-side ``js`` step);
    nothing here runs script.
    """
    d = document
    meta = ", ".join(f"<bdi>{escape(x)}</bdi>" for x in (d.publisher, d.date, d.kind) if x)
    text = _marked(d.text, start, end, ' id="ac-target"')
    return (
        f'<div class="ac-doc" data-doc-id="{escape(d.doc_id)}">'
        f'<div class="ac-doc-head"><strong>{safe_link(d.url, d.title)}</strong>'
        f"{' — ' + meta if meta else ''}</div>"
        f'<div class="ac-doc-text" style="white-space:pre-wrap">'
        f"{text}</div></div>"
    )


def _bar(rows: tuple[BalanceRow, ...], counts: list[int], perspectives, name: str) -> str:
    total = sum(counts)
    segments, legend = [], []
    for row, count in zip(rows, counts, strict=True):
        share = 100.0 * count / total if total else 0.0
        color = _color(row.perspective, perspectives)
        text = f"{row.label}: {count} ({share:.1f}%)"
        if count:
            segments.append(
                f'<div class="ac-seg" data-side="{escape(row.perspective)}" '
                f'style="width:{share:.3f}%;background:{color}" title="{escape(text)}"></div>'
            )
        legend.append(
            f'<span><i class="ac-swatch" style="background:{color}"></i>{escape(text)}</span>'
        )
    return (
        f'<div class="ac-balance-row"><strong>{escape(name)}</strong> ({total} passages)'
        f'<div class="ac-bar" style="display:flex">{"".join(segments)}</div>'
        f'<div class="ac-legend">{"".join(legend)}</div></div>'
    )


def balance_html(rows: tuple[BalanceRow, ...], perspectives: Mapping[str, Perspective]) -> str:
    """Two stacked bars: passages by the publisher's perspective, and by the speaker's."""
    return (
        '<div class="ac-balance">'
        + _bar(
            rows,
            [r.passages_by_publisher for r in rows],
            perspectives,
            "Passages by publisher perspective",
        )
        + _bar(
            rows,
            [r.passages_by_speaker for r in rows],
            perspectives,
            "Passages by speaker perspective",
        )
        + "</div>"
    )
