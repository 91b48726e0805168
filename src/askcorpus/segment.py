"""Segmentation: a document's text cut into paragraphs and sentences, as character spans."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["body", "heading", "footnote", "boilerplate"]
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPER_VALUE = {c: i for i, c in enumerate(SUPERSCRIPTS)}
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")
# Web-page furniture that is never someone's statement (matched against a whole line).
_BOILERPLATE = re.compile(
    r"^(?:watch cbs news|view cbs news in|cbs news app open|chrome safari continue"
    r"|be the first to know|get browser notifications for .*"
    r"|read (?:more|the full \w+) here\.?|see .{0,60} here\.?"
    r"|[\d,]+ have signed\..*|posted on \w+|advertisement|share this( article)?"
    r"|subscribe( now)?|sign up .*newsletter.*|click here.*)$",
    re.IGNORECASE,
)
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "rep", "sen", "st", "u.s", "u.n", "no", "sept", "sep",
    "oct", "nov", "dec", "jan", "feb", "aug", "gen", "lt", "col", "vs", "e.g", "i.e", "etc",
    "h.r", "inc", "jr", "co", "gov", "pres", "amb", "art", "p", "pp", "vol", "ed", "eds",
}
_SENTENCE_END = re.compile(
    r"[.!?…]+[”\"’)\]]*[" + SUPERSCRIPTS + r"]*(?=\s+[“\"‘(\[A-Z0-9" + SUPERSCRIPTS + r"•])"
)
_FOOTNOTE_START = re.compile(r"^([" + SUPERSCRIPTS + r"]+)\s")
_FOOTNOTE_MARK = re.compile(r"[" + SUPERSCRIPTS + r"]+")


@dataclass(frozen=True)
class Block:
    """A paragraph: a run of text between blank lines, with what kind of thing it is."""

    start: int
    end: int
    index: int
    kind: BlockKind
    footnote: int | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence (or one line of a list) inside a block."""

    start: int
    end: int
    block: Block


def superscript_number(marks: str) -> int:
    """``"¹²"`` -> 12."""
    value = 0
    for ch in marks:
        value = value * 10 + _SUPER_VALUE[ch]
    return value


def footnote_marks(text: str) -> tuple[int, ...]:
    """The footnote numbers cited by superscript markers in ``text``, in order, unique."""
    seen: list[int] = []
    for match in _FOOTNOTE_MARK.finditer(text):
        number = superscript_number(match.group())
        if number not in seen:
            seen.append(number)
    return tuple(seen)


def blocks(text: str) -> list[Block]:
    """Paragraph spans of ``text`` (stripped of surrounding whitespace), classified."""
    spans = []
    position = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(text)))
    out: list[Block] = []
    for start, end in spans:
        start, end = _strip(text, start, end)
        if start >= end:
            continue
        kind, number = _classify(text[start:end], out[-1] if out else None)
        out.append(Block(start, end, len(out) + 1, kind, number))
    return out


def sentences(text: str, block: Block) -> list[Sentence]:
    """Sentence spans inside ``block``; lines of a list are sentences too."""
    out = []
    for line_start, line_end in _lines(text, block.start, block.end):
        cut = line_start
        for match in _SENTENCE_END.finditer(text, line_start, line_end):
            if _is_abbreviation(text, line_start, match.start()):
                continue
            out.append(Sentence(cut, match.end(), block))
            cut = _skip_space(text, match.end(), line_end)
        if cut < line_end:
            out.append(Sentence(cut, line_end, block))
    return [s for s in out if text[s.start:s.end].strip()]


def is_boilerplate(line: str) -> bool:
    return bool(_BOILERPLATE.match(line.strip()))


def _classify(paragraph: str, previous: Block | None) -> tuple[BlockKind, int | None]:
    lines = [line for line in paragraph.split("\n") if line.strip()]
    if sum(is_boilerplate(line) for line in lines) * 2 >= len(lines):
        return "boilerplate", None
    match = _FOOTNOTE_START.match(paragraph)
    if match:
        return "footnote", superscript_number(match.group(1))
    if previous is not None and previous.kind == "footnote" and paragraph.startswith(("<http",
                                                                                    "http")):
        return "footnote", previous.footnote
    words = paragraph.split()
    ends = paragraph.rstrip()[-1:]
    short_line = len(lines) == 1 and len(words) <= 20
    headline = _title_case(words) or ends not in ".”\"’:;,"
    if short_line and headline and (ends not in "?!" or len(words) <= 10):
        return "heading", None
    return "body", None


def _title_case(words: list[str]) -> bool:
    """Headline style: most words capitalised ("Azerbaijan Waited For Its Opening")."""
    letters = [w.lstrip("“\"‘'(") for w in words]
    capitalised = sum(1 for w in letters if w[:1].isupper())
    return len(words) >= 3 and capitalised >= 0.7 * len(words) and not words[-1].endswith(".")


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    position = start
    while position < end:
        newline = text.find("\n", position, end)
        stop = end if newline == -1 else newline
        s, e = _strip(text, position, stop)
        if s < e:
            out.append((s, e))
        position = stop + 1
    return out


def _is_abbreviation(text: str, line_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > line_start and not text[word_start - 1].isspace() \
            and text[word_start - 1] not in "(“\"":
        word_start -= 1
    word = text[word_start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _skip_space(text: str, position: int, end: int) -> int:
    while position < end and text[position].isspace():
        position += 1
    return position


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of a passage's text; the whole text if none is found."""
    return [(s.start, s.end) for b in blocks(text) for s in sentences(text, b)] or [(0, len(text))]
