"""What every rendering shares: HTML escaping, safe URLs, labels, colours and the wording."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from askcorpus.types import Answer, Citation, Perspective

DEFAULT_COLOR = "#666666"
# Only a plain hex colour may reach a style attribute: a catalog colour such as
# "red;background:url(https://evil)" would otherwise inject CSS.
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")


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
