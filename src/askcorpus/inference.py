"""What a document says about itself when no catalog does: title, date, publisher, author, and
example questions for the corpus.

Only what the file states plainly in its opening lines is taken (a first heading, a byline, a
dateline such as "Oakdale Herald, September 19, 2023"); a field the opening does not state
stays empty rather than guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from askcorpus.segment import blocks
from askcorpus.speakers import find_names
from askcorpus.types import Document

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH = r"(?:" + "|".join(m.capitalize() for m in _MONTHS) + r")"
_DATE = re.compile(rf"\b(?:(\d{{4}})-(\d{{2}})-(\d{{2}})|({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})"
                   rf"|(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}}))\b")
_BYLINE = re.compile(r"^\s*[*_]*By\s+([A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})")
_MARKUP = re.compile(r"^[#\s]+|[*_`]+")
_SEPARATORS = re.compile(r"\s*(?:\||—|–|\s-\s|,)\s*")
_OPENING_BLOCKS = 4  # the title block and the metadata lines under it
_CUE = re.compile(r"\b(?:said|says|told|wrote|according to)\b")


@dataclass(frozen=True)
class Stated:
    """The metadata a document's opening states, each field None when it is not stated."""

    title: str | None = None
    date: str | None = None
    publisher: str | None = None
    author: str | None = None


def stated_metadata(text: str, suffix: str) -> Stated:
    """Title, date, publisher and author from a document's opening lines.

    Example:
        >>> stated_metadata("# Dam opens\\n\\nOakdale Herald, May 2, 2024\\n\\nText.", ".md")
        Stated(title='Dam opens', date='2024-05-02', publisher='Oakdale Herald', author=None)
    """
    opening = blocks(text)[:_OPENING_BLOCKS]
    if not opening:
        return Stated()
    first = text[opening[0].start:opening[0].end]
    title = None
    if (suffix in (".md", ".markdown") and first.startswith("# ")) or opening[0].kind == "heading":
        title = _clean(first)
    date = publisher = author = None
    for block in opening[1:] if title else opening:
        line = text[block.start:block.end]
        if block.kind != "heading" and len(line.split()) > 20:
            break  # the body has begun
        found = _DATE.search(line)
        byline = _BYLINE.match(line)
        if byline:
            author = author or byline.group(1)
        if found and date is None:
            date = _iso(found)
            publisher = publisher or _publisher(line[:found.start()], author)
    return Stated(title or None, date, publisher, author)


def example_questions(documents: Sequence[Document], *, limit: int = 4) -> tuple[str, ...]:
    """Example questions taken from the corpus itself: the most central titles (those whose
    words recur across the most other documents), then what its most quoted person said."""
    vocab = [set(_words(d.text)) for d in documents]
    # How many documents hold each word: one pass, so a 10,000-document corpus costs a
    # moment instead of 10,000 x 10,000 set intersections.
    frequency: Counter[str] = Counter(w for words in vocab for w in words)
    titled = [(d, i) for i, d in enumerate(documents) if d.title and d.title != d.path]

    def centrality(item: tuple[Document, int]) -> tuple[float, str]:
        document, i = item
        words = set(_words(document.title))
        # The other documents sharing each title word: all that hold it, but this one.
        shared = sum(frequency[w] - (w in vocab[i]) for w in words)
        return (-shared / max(len(words), 1), document.title)

    out = [d.title for d, _ in sorted(titled, key=centrality)[:max(limit - 1, 1)]]
    speaker = _most_quoted(documents)
    if speaker is not None:
        out.append(f"What did {speaker} say?")
    return tuple(out[:limit])


def _most_quoted(documents: Sequence[Document]) -> str | None:
    counts: Counter[str] = Counter()
    for document in documents:
        for line in document.text.split("\n"):
            if _CUE.search(line):
                counts.update(n.name for n in find_names(line)
                              if n.kind == "person" and " " in n.name)
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return best[0][0] if best else None


def _publisher(prefix: str, author: str | None) -> str | None:
    for part in _SEPARATORS.split(_clean(prefix)):
        part = part.strip(" .")
        if part and part[0].isupper() and not part.startswith("By ") and part != author \
                and not any(ch.isdigit() for ch in part) and len(part.split()) <= 6 \
                and not part.isupper():
            return part
    return None


def _iso(found: re.Match[str]) -> str:
    if found.group(1):
        return f"{found.group(1)}-{found.group(2)}-{found.group(3)}"
    if found.group(4):
        month, day, year = found.group(4), found.group(5), found.group(6)
    else:
        day, month, year = found.group(7), found.group(8), found.group(9)
    return f"{year}-{_MONTHS.index(month.lower()) + 1:02d}-{int(day):02d}"


def _clean(line: str) -> str:
    return " ".join(_MARKUP.sub("", line).split())


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]{4,}", text.lower())]
