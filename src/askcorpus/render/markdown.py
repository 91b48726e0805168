"""The Markdown export: an Answer as a document, every corpus string shown verbatim and inert."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from askcorpus.render.common import _groups, _labels, _quoted, _speaker, safe_url, status_line
from askcorpus.types import Answer, Citation

# Markdown that can do harm or change a quote is escaped where it would take effect, and only
# there, so ordinary prose such as "(SSR)" or a footnote mark "[1]" shows without backslashes.
# Always escaped (rare in prose, markup wherever it stands): backslash, backtick, '*', '~', '|'.
_MD_ALWAYS = re.compile(r"([\\`*~|])")
# '_' only where it can open or close emphasis (not inside a word: snake_case stays as is).
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# A link or image needs "](" or "][", a link definition "]:": escaping that ']' breaks it.
_MD_LINK = re.compile(r"\](?=[(\[:])")
# Raw HTML and autolinks start with '<' and a letter, '/', '!' or '?'.
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
# An entity ("&lt;", "&#60;") would decode into another character.
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# GFM autolinks bare "scheme://", "www." and e-mail addresses: escaping one character stops it.
_MD_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=\bwww)(\.)|(?<=\w)(@)(?=\w)", re.IGNORECASE)
# Markup that only counts at the start of a line: headings, quotes, bullets, setext underlines,
# and the '.' or ')' of an ordered-list number (a backslash before a digit would be literal).
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def md_escape(text: str | None) -> str:
    """Escape Markdown in document text so it shows verbatim and never becomes markup.

    A passage ``![](https://evil/px)`` would otherwise load a remote image in whatever renders the
    export, ``[x](javascript:...)`` would become a link, ``<script>`` raw HTML and ``$$...$$``
    math. Each construct is broken where it would take effect (a backslash before ASCII
    punctuation always renders as the character itself), and nowhere else: plain prose such as
    ``(SSR)``, ``[1]`` or ``#1`` reads in the raw file exactly as in the document.
    """
    escaped = _MD_ALWAYS.sub(r"\\\1", text or "")
    escaped = _MD_UNDERSCORE.sub(r"\\_", escaped)
    escaped = _MD_LINK.sub(r"\\]", escaped)
    escaped = _MD_TAG.sub(r"\\<", escaped)
    escaped = _MD_ENTITY.sub(r"\\&", escaped)
    if escaped.count("$") > 1:  # math needs a pair of dollars; "$5" alone stays as it is
        escaped = escaped.replace("$", "\\$")
    escaped = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(), escaped)
    escaped = _MD_LINE_START.sub(r"\1\\\2", escaped)
    return _MD_ORDERED.sub(r"\1\\\2", escaped)


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
    notes = [f"    - [{r.number}] {md_escape(r.text.strip())}" for r in c.references]
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
            lines.append(f"- **{label}:** {quote} [{s.citation}]")
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
