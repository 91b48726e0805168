"""The Markdown export: an Answer as a document, every corpus string shown verbatim and inert."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from askcorpus.render.common import _groups, _labels, _quoted, _speaker, safe_url, status_line
from askcorpus.types import Answer, Citation

# Every character CommonMark/GFM can read as markup, plus '$' (LaTeX math in many renderers)
# and '@' (GFM autolinks bare e-mail addresses).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&^@])")
# GFM also autolinks bare "scheme://" and "www." text: escaping that one ':' or '.' stops it.
_MD_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=\bwww)(\.)", re.IGNORECASE)
# Markup that only counts at the start of a line: bullet markers, setext underlines, and the
# dot of an ordered-list number ("1." becomes "1\.", a backslash before a digit is literal).
_MD_BULLET = re.compile(r"^(\s*)([-=])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


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
