"""Terminal text: an Answer as a readable answer on stdout, control characters neutralised."""

from __future__ import annotations

import re
from collections.abc import Mapping

from askcorpus.render.common import _groups, _labels, _quoted, _speaker, status_line
from askcorpus.types import Answer, Citation

# Terminal control characters (ANSI escapes, backspace...) in a document could rewrite what a
# terminal shows; newline and tab are the only ones a reader needs.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _terminal(text: str | None) -> str:
    """Neutralise control characters so document text cannot drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text or "")



def _text_source(c: Citation, labels: Mapping[str, str]) -> str:
    d, p = c.document, c.passage
    head = " — ".join(x for x in (d.title, ", ".join(filter(None, (d.publisher, d.date)))) if x)
    parts = [head, f"perspective {labels.get(p.perspective, p.perspective)}"]
    speaker = _speaker(c)
    if speaker:
        parts.append(f"speaker {speaker}")
    page = f"{c.pages_label()}, " if c.pages_label() else ""
    parts.append(f"{page}paragraph {p.paragraph} of {p.paragraphs} (chars {p.start}-{p.end})")
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
