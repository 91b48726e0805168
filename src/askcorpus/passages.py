"""Passages: documents cut into verbatim, one-voice spans of about 40-150 words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from askcorpus.attribution import Attributor, Voice
from askcorpus.segment import Block, Sentence, blocks, footnote_marks, is_boilerplate, sentences
from askcorpus.types import Document, Passage, Reference


@dataclass(frozen=True)
class _Unit:
    """A sentence (or clause) with its voice: the atom that passages are packed from."""

    start: int
    end: int
    block: Block
    speaker: str | None
    cue: str
    words: int
    perspective: str | None = None
    role: str = ""


def split_document(document: Document, attributor: Attributor | None = None, *,
                   min_words: int = 40, max_words: int = 150) -> list[Passage]:
    """Cut a document into passages; ``document.text[p.start:p.end] == p.text`` for each.

    Paragraph-aware: a passage grows paragraph by paragraph up to ``max_words`` and only
    breaks inside a paragraph at a sentence end. It never mixes two speakers, never
    includes boilerplate, and each footnote becomes its own ``footnote`` passage. A single
    sentence longer than ``max_words`` is kept whole (sentences are never cut).
    """
    attributor = attributor or Attributor(())
    text = document.text
    all_blocks = blocks(text)
    units = _units(document, attributor, all_blocks)
    groups = _pack(units, text, min_words=min_words, max_words=max_words)
    return [_passage(document, attributor, group, i, len(all_blocks))
            for i, group in enumerate(groups)]


def references_for(passage: Passage, footnotes: dict[int, Passage]) -> tuple[Reference, ...]:
    """The footnotes a body passage cites, with their text and place in the document."""
    return tuple(Reference(n, footnotes[n].text, footnotes[n].start, footnotes[n].end)
                 for n in passage.footnotes if n in footnotes)


def merge_footnotes(passages: Iterable[Passage]) -> dict[int, Passage]:
    """Footnote number -> one passage spanning the whole footnote (continuations included)."""
    merged: dict[int, Passage] = {}
    for p in passages:
        if p.kind != "footnote" or p.footnote_number is None:
            continue
        first = merged.get(p.footnote_number)
        if first is None:
            merged[p.footnote_number] = p
    return merged


def _units(document: Document, attributor: Attributor, all_blocks: list[Block]) -> list[_Unit]:
    text = document.text
    spoken: list[Sentence] = []
    for block in all_blocks:
        if block.kind == "boilerplate":
            continue
        spoken.extend(s for s in sentences(text, block)
                      if not is_boilerplate(text[s.start:s.end]))
    narrative = [s for s in spoken if s.block.kind != "footnote"]
    voices = attributor.attribute_document(
        document.doc_id, text,
        [(s.start, s.end, _speech_paragraph(text, s.block, all_blocks)) for s in narrative],
        headings=[s.block.kind == "heading" for s in narrative])
    by_sentence = {s.start: v for s, v in zip(narrative, voices, strict=True)}
    units = []
    for s in spoken:
        parts = by_sentence.get(s.start, [Voice(s.start, s.end, None, "document default")])
        for v in parts:
            units.append(_Unit(v.start, v.end, s.block, v.speaker, v.cue,
                               len(text[v.start:v.end].split()), v.perspective, v.role))
    return [u for u in units if text[u.start:u.end].strip()]


def _speech_paragraph(text: str, block: Block, all_blocks: list[Block]) -> int:
    """The paragraph a block continues: a page break with footnotes can cut a sentence."""
    index = block.index
    while text[all_blocks[index - 1].start:all_blocks[index - 1].start + 1].islower():
        previous = [b for b in all_blocks[:index - 1] if b.kind not in ("footnote", "boilerplate")]
        if not previous or text[previous[-1].end - 1] in ".!?”\"" \
                or previous[-1].kind != "body":
            break
        index = previous[-1].index
    return index


def _pack(units: list[_Unit], text: str, *, min_words: int,
          max_words: int) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    for unit in units:
        dropped_between = current and text[current[-1].end:unit.start].strip()
        if current and (dropped_between or not _fits(current, unit, min_words=min_words,
                                                     max_words=max_words)):
            groups.append(current)
            current = []
        current.append(unit)
    if current:
        groups.append(current)
    return groups


def _fits(current: list[_Unit], unit: _Unit, *, min_words: int, max_words: int) -> bool:
    last = current[-1]
    if unit.block.kind == "footnote" or last.block.kind == "footnote":
        return unit.block.kind == last.block.kind and unit.block.footnote == last.block.footnote \
            and _words(current) + unit.words <= max_words
    if unit.block.kind == "heading" and last.block.kind != "heading":
        return False
    if last.block.kind == "heading" and unit.block.kind != "heading":
        # A heading is context for what follows it, unless someone else speaks in it.
        return (last.speaker is None or last.speaker == unit.speaker) \
            and _words(current) + unit.words <= max_words
    if _speaker(current) != unit.speaker and unit.block.kind != "heading":
        return False
    if _words(current) + unit.words > max_words:
        return False
    new_paragraph = unit.block.index != last.block.index
    return not (new_paragraph and _words(current) >= min_words)


def _speaker(group: list[_Unit]) -> str | None:
    body = [u for u in group if u.block.kind != "heading"] or group
    return next((u.speaker for u in body if u.speaker is not None), body[0].speaker)


def _words(group: list[_Unit]) -> int:
    return sum(u.words for u in group)


def _passage(document: Document, attributor: Attributor, group: list[_Unit], ordinal: int,
             paragraphs: int) -> Passage:
    start, end = group[0].start, group[-1].end
    text = document.text[start:end]
    first = group[0].block
    speaker = _speaker(group)
    actor = attributor.actor(speaker)
    body = [u for u in group if u.block.kind != "heading"] or group
    voice = next((u for u in body if u.speaker == speaker), None)
    cue = voice.cue if voice is not None else "document default"
    side = actor.perspective if actor else (voice.perspective if voice else None)
    if speaker and actor is None:
        cue += (f"; {speaker} is not in the catalog, side taken from their role ({voice.role})"
                if side and voice else f"; {speaker} is not in the catalog: side not declared, "
                f"the passage keeps its document's perspective")
    if first.kind == "footnote":
        kind = "footnote"
    elif all(u.block.kind == "heading" for u in group):
        kind = "heading"
    else:
        kind = "quote" if speaker else "body"
    return Passage(
        passage_id=f"{document.doc_id}:{ordinal:04d}",
        doc_id=document.doc_id, start=start, end=end, text=text, kind=kind,
        speaker=speaker if kind != "footnote" else None,
        perspective=side if side and kind != "footnote" else document.perspective,
        speaker_role=(voice.role or None) if voice and speaker and kind != "footnote" else None,
        attributed_by=cue if kind != "footnote" else "footnote of the document",
        section=None, paragraph=first.index, paragraphs=paragraphs,
        footnotes=footnote_marks(text) if kind != "footnote" else (),
        footnote_number=first.footnote if kind == "footnote" else None,
    )
