"""HTML for the web UI: every corpus, catalog or user string escaped; no script anywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from askcorpus.render.common import (
    DEFAULT_COLOR,
    _color,
    _groups,
    _labels,
    _quoted,
    _speaker,
    escape,
    safe_url,
    status_line,
)
from askcorpus.types import Answer, BalanceRow, Citation, Document, Perspective, Reference


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



CSS = """
.ac-answer, .ac-doc, .ac-balance { font-size: 15px; line-height: 1.5; }
.ac-banner { padding: 10px 14px; border-radius: 6px; font-weight: 700; margin-bottom: 10px;
  background: #e8f0e8; color: #1d3b1d; }
.ac-banner[data-status="contested"] { background: #fdf1dc; color: #5a3b00; }
.ac-banner[data-status="no_answer"] { background: #eeeeee; color: #333333; }
.ac-question { color: #555555; margin: 0 0 8px 0; overflow-wrap: anywhere; }
/* A long unbroken question wraps inside its box instead of widening the page. */
#ac-question textarea { overflow-wrap: anywhere; word-break: break-word; }
.ac-message { padding: 10px 14px; border-radius: 6px; background: #eef2f8; color: #1f2d3d;
  font-weight: 600; overflow-wrap: anywhere; }
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
    if c.pages_label():
        parts.append(escape(c.pages_label()))
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
