"""Attribution: who speaks in each sentence, decided by readable rules over the catalog's actors.

Rules, in the order they apply to a sentence:

1. A catalog override whose snippet lies in the sentence names the speaker.
2. A speech cue outside quotation marks ("said", "declared", "according to", "in a
   statement", ...) whose subject is a catalog actor: the nearest actor named just before
   the verb ("Aghayev said"), just after it ("said Aghayev", "according to X"), or a
   pronoun ("he said") resolved to the person actor named most recently before it in the
   document. A subject separated from its verb by a quotation is not the speaker.
3. A sentence that opens with, or continues, a direct quotation but carries no cue of its
   own belongs to the nearest cued speaker of the same paragraph ("...," he said. "...").
4. Otherwise the sentence is narration: no speaker, the document's perspective.

Precision comes first, because a wrong side is worse than no side:

- A headline (or a link list's text) is the publisher's voice unless it holds a quotation;
  only a heading that introduces a bulleted list ("X recommends that ...") keeps its cue.
- A verb that judges what was said ("X dismisses", "denies", "claims", "floated") is the
  writer's report about X, not X's statement, unless X's own words are quoted in the sentence.
- People and organisations that the catalog does not know are found by ``speakers``: their
  name and role as written, a perspective only when their role names an organisation the
  catalog maps; otherwise the passage keeps its document's perspective.

A sentence in which two actors speak in clauses joined by "while", "but" or ";" is split at
that joint, so that each part speaks with one voice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from askcorpus.catalog import Override
from askcorpus.cues import (
    AFTER_ONLY,
    ANNOUNCES,
    ANY_BYLINE,
    BYLINE,
    CAPITALISED,
    CLAUSE_START,
    CUE,
    DEFINITE,
    INVERTIBLE,
    JUDGING,
    LIST_FOLLOWS,
    NOT_SUBJECT,
    PASSIVE,
    POSSESSIVE,
    PREPOSITION,
    PRONOUN,
    QUOTED_PHRASE,
    SENTENCE_SUBJECT,
    SUBJECT_WINDOW,
    alias_pattern,
    close_subject,
    fold,
    holds_quotation,
    last_joint,
    mask_quotes,
    starts_with_quote,
)
from askcorpus.speakers import find_names, role_as_written, surname
from askcorpus.types import Actor


@dataclass(frozen=True)
class Voice:
    """Who speaks in a span of text, and the evidence for it."""

    start: int
    end: int
    speaker: str | None
    cue: str
    perspective: str | None = None  # the speaker's side, when the catalog declares one
    role: str = ""                  # the speaker's role as the text writes it


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    actor: Actor
    discovered: bool = False  # named in the text, not declared in the catalog
    definite: bool = False    # "the company": an organisation named earlier


class Attributor:
    """Attributes sentences of one corpus to the catalog's actors."""

    def __init__(self, actors: Sequence[Actor], overrides: Sequence[Override] = ()) -> None:
        self._actors = {a.name: a for a in actors}
        self._overrides = tuple(overrides)
        names = sorted({(alias, a.name) for a in actors for alias in (a.name, *a.aliases)},
                       key=lambda pair: -len(pair[0]))
        self._alias_actor = {fold(alias): self._actors[name] for alias, name in names}
        pattern = "|".join(alias_pattern(alias) for alias, _ in names)
        self._alias_re = re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])") if names else None

    def actor(self, name: str | None) -> Actor | None:
        return self._actors.get(name) if name else None

    def attribute_document(self, doc_id: str, text: str,
                           sentences: Sequence[tuple[int, int, int]],
                           headings: Sequence[bool] | None = None) -> list[list[Voice]]:
        """Voices of each of ``sentences`` = (start, end, paragraph index), in document order.

        Each sentence gets one voice, or several when it is split between speakers.
        ``headings`` marks sentences that are headings: a heading ends a bylined excerpt.
        """
        headings = list(headings) if headings is not None else [False] * len(sentences)
        state = _DocumentState()
        voices: list[tuple[Voice, int, bool]] = []
        latent: list[Voice | None] = []
        owner: list[int] = []
        last_paragraph = None
        for i, (start, end, paragraph) in enumerate(sentences):
            if paragraph != last_paragraph:
                state.quote_open = state.single_open = False
                if last_paragraph is not None and paragraph - last_paragraph > 1:
                    state.author = None  # dropped boilerplate ("Read More Here") ends an excerpt
                last_paragraph = paragraph
            opens = _opens_quote(text, start, end, state)
            self._update_author(text, start, end, state, is_heading=headings[i])
            sentence_voices = self._attribute_sentence(doc_id, text, start, end, state)
            announced = None
            if headings[i] and not holds_quotation(text[start:end]) \
                    and not LIST_FOLLOWS.match(text, end):
                sentence_voices = [Voice(start, end, None, "headline: the publisher's voice")]
                announced = self._announced(text, start, end, state)
            for voice in sentence_voices:
                if voice.speaker is None and state.author is not None and not headings[i]:
                    voice = _voice(voice.start, voice.end, state.author,
                                   f"excerpt by {state.author.name} (byline)")
                voices.append((voice, paragraph, opens))
                latent.append(announced)
                owner.append(i)
        filled = _headline_quotes(text, _fill_quote_continuations(voices, latent),
                                  [headings[i] for i in owner])
        out: list[list[Voice]] = [[] for _ in sentences]
        for i, voice in zip(owner, filled, strict=True):
            out[i].append(voice)
        return out

    def _attribute_sentence(self, doc_id: str, text: str, start: int, end: int,
                            state: _DocumentState) -> list[Voice]:
        override = self._override(doc_id, text[start:end])
        masked = mask_quotes(text[start:end])
        mentions = self._mentions(masked, start, state)
        cued = self._cued_speakers(text, masked, start, mentions, state)
        speakers = {c[1].name for c in cued} | (
            {state.author.name} if state.author is not None else set())
        state.introduce(mentions)
        state.remember([m for m in mentions if not m.discovered
                        or m.actor.title or m.actor.name in speakers])
        if override is not None:
            actor = self.actor(override.speaker)
            return [Voice(start, end, override.speaker, "catalog override",
                          actor.perspective if actor else None)]
        quoted = holds_quotation(text[start:end])
        spoken = [c for c in cued if quoted or not JUDGING.match(c[3])]
        if not spoken:
            if cued:
                _, actor, how, _verb = cued[0]
                return [Voice(start, end, None, f"the publisher's account of {actor.name} "
                                                f"('{how}', no words of theirs quoted)")]
            return [Voice(start, end, None, "document default")]
        return _split_voices(text, start, end, [(a, b, c) for a, b, c, _ in spoken])

    def _announced(self, text: str, start: int, end: int, state: _DocumentState) -> Voice | None:
        """The subject of a headline that announces a statement, as a voice for what follows."""
        masked = mask_quotes(text[start:end])
        mentions = self._mentions(masked, start, state)
        verb = ANNOUNCES.search(masked)
        if not mentions or verb is None or mentions[0].end > start + verb.start():
            return None
        return _voice(start, end, mentions[0].actor,
                      f"quotation under the headline announcing a statement by "
                      f"{mentions[0].actor.name}")

    def _update_author(self, text: str, start: int, end: int, state: _DocumentState, *,
                       is_heading: bool) -> None:
        """A byline ("By X", "Message from X") makes X the author until the next heading.

        The byline above a document's first paragraph names the writer of the whole
        document, whose voice is the publisher's: only a byline further in opens an excerpt.
        """
        masked = mask_quotes(text[start:end])
        if not is_heading and not ANY_BYLINE.search(masked):
            state.body_seen = True
        for m in self._mentions(masked, start, state):
            if m.actor.kind == "person" and state.body_seen \
                    and BYLINE.search(text[max(start, m.start - 30):m.start]):
                state.author = m.actor
                return
        if is_heading or ANY_BYLINE.search(masked):
            state.author = None  # a new article, or an author the catalog does not know

    def _override(self, doc_id: str, sentence: str) -> Override | None:
        return next((o for o in self._overrides if o.doc_id == doc_id and o.snippet in sentence),
                    None)

    def _mentions(self, masked: str, offset: int, state: _DocumentState) -> list[_Mention]:
        known = [] if self._alias_re is None else [
            _Mention(offset + m.start(), offset + m.end(), self._alias_actor[fold(m.group())])
            for m in self._alias_re.finditer(masked) if not POSSESSIVE.match(masked, m.end())]
        found = list(known)
        for name in find_names(masked, offset):
            if any(m.start < name.end and name.start < m.end for m in found):
                continue
            actor = state.people.get(name.name) or (
                state.people.get(surname(name.name)) if " " not in name.name else None)
            if actor is None and (name.kind == "institution" or " " in name.name):
                role = ", ".join(r for r in (name.title, role_as_written(
                    masked, name.start - offset - len(name.title) - (1 if name.title else 0),
                    name.end - offset)) if r)
                actor = Actor(name.name, self._side_of(role), title=role,
                              kind="person" if name.kind == "person" else "institution")
            if actor is not None:
                found.append(_Mention(name.start, name.end, actor, discovered=True))
        for the in DEFINITE.finditer(masked):
            actor = state.people.get(f"the {the.group(1)}")
            start = offset + the.start()
            if actor is not None and not POSSESSIVE.match(masked, the.end()) \
                    and not any(m.start <= start < m.end for m in found):
                found.append(_Mention(start, offset + the.end(), actor, discovered=True,
                                      definite=True))
        for word in CAPITALISED.finditer(masked):
            actor = state.people.get(word.group())
            start = offset + word.start()
            if actor is not None and actor.kind == "person" \
                    and not POSSESSIVE.match(masked, word.end()) \
                    and not any(m.start <= start < m.end for m in found):
                found.append(_Mention(start, offset + word.end(), actor, discovered=True))
        return sorted(found, key=lambda m: m.start)

    def _side_of(self, role: str) -> str:
        """The perspective of the catalogued organisation a role names ("a spokesman for X")."""
        if not role or self._alias_re is None:
            return ""
        for m in self._alias_re.finditer(role):
            actor = self._alias_actor[fold(m.group())]
            if actor.kind == "institution":
                return actor.perspective
        return ""

    def _cued_speakers(self, text: str, masked: str, offset: int, mentions: list[_Mention],
                       state: _DocumentState) -> list[tuple[int, Actor, str, str]]:
        found: list[tuple[int, Actor, str, str]] = []
        for cue in CUE.finditer(masked):
            verb_at = offset + cue.start()
            hit = self._subject(text, masked, offset, cue, mentions, state)
            if hit is not None:
                actor, how = hit
                found.append((verb_at, actor, how, " ".join(cue.group().lower().split())))
        return found

    def _subject(self, text: str, masked: str, offset: int, cue: re.Match[str],
                 mentions: list[_Mention], state: _DocumentState) -> tuple[Actor, str] | None:
        verb = " ".join(cue.group().lower().split())
        verb_at = offset + cue.start()
        before_text = masked[max(0, cue.start() - SUBJECT_WINDOW):cue.start()]
        if verb in SENTENCE_SUBJECT:
            first = _before(mentions, verb_at)[:1]
            return (first[0].actor, f"{text[first[0].start:first[0].end]} … {verb}") if first \
                else None
        if PASSIVE.search(before_text):
            return None  # "where it is stated": the speaker is not named here
        pronoun = PRONOUN.search(before_text)
        if pronoun:
            person = state.last_person
            if person is None:
                return None
            return person, f"'{pronoun.group(1)} {verb}' → {person.name} (named just before)"
        candidates = [m for m in _before(mentions, verb_at)
                      if close_subject(text, m.end, verb_at)
                      and not PREPOSITION.search(text[max(0, m.start - 12):m.start])
                      and not (m.discovered and (
                          NOT_SUBJECT.search(text[max(0, m.start - 12):m.start])
                          or re.search(r"\band\b", text[m.end:verb_at])))
                      and not (m.definite and not CLAUSE_START.search(
                          text[max(offset, m.start - 8):m.start]))]
        after = [m for m in mentions if 0 <= m.start - (offset + cue.end()) <= 30]
        if verb in INVERTIBLE and after and (verb.startswith(AFTER_ONLY) or not candidates):
            name = text[after[0].start:after[0].end]
            return after[0].actor, f"{verb} {name}"
        if candidates and not verb.startswith(AFTER_ONLY):
            m = candidates[-1]
            name = text[m.start:m.end]
            return m.actor, (f"'…,' {name} {verb}" if starts_with_quote(masked)
                             else f"{name} {verb}")
        return None


class _DocumentState:
    """What attribution remembers while reading one document: who was named last."""

    def __init__(self) -> None:
        self.last_person: Actor | None = None
        self.author: Actor | None = None
        self.quote_open = False
        self.single_open = False
        self.people: dict[str, Actor] = {}  # names (and surnames) the text introduced
        self.body_seen = False  # whether a paragraph of body text has been read yet

    def remember(self, mentions: list[_Mention]) -> None:
        """Persons named here become the referents of a later "he"/"she"; a name the catalog
        does not know counts only with evidence that it is a person (a role, or speech)."""
        for m in mentions:
            if m.actor.kind == "person":
                self.last_person = m.actor

    def introduce(self, mentions: list[_Mention]) -> None:
        """Names the catalog lacks become known by surname ("Doe said") and organisations by
        their head noun ("the company said") for the rest of the document."""
        for m in mentions:
            if m.actor.kind == "institution":
                self.people[f"the {m.actor.name.split()[-1].lower()}"] = m.actor
            if not m.discovered or m.actor.name in self.people:
                continue
            self.people[m.actor.name] = m.actor
            if m.actor.kind == "person":
                self.people.setdefault(surname(m.actor.name), m.actor)


def _split_voices(text: str, start: int, end: int,
                  cued: list[tuple[int, Actor, str]]) -> list[Voice]:
    """One voice per actor; a sentence shared by two actors is cut at the clause joint."""
    voices: list[Voice] = []
    cut = start
    current_actor, current_how = cued[0][1], cued[0][2]
    for verb_at, actor, how in cued[1:]:
        if actor.name == current_actor.name:
            continue
        joint = last_joint(text, cut, verb_at)
        if joint is None:
            continue
        voices.append(_voice(cut, joint[0], current_actor, current_how))
        cut, current_actor, current_how = joint[1], actor, how
    voices.append(_voice(cut, end, current_actor, current_how))
    return voices


def _voice(start: int, end: int, actor: Actor, how: str) -> Voice:
    return Voice(start, end, actor.name, how, actor.perspective or None, actor.title)


def _fill_quote_continuations(voices: list[tuple[Voice, int, bool]],
                              latent: list[Voice | None]) -> list[Voice]:
    """Rule 3: uncued quoted sentences take the nearest cued speaker of their paragraph."""
    out = [v for v, _, _ in voices]
    for i, (voice, paragraph, opens_quote) in enumerate(voices):
        if voice.speaker is not None or not opens_quote:
            continue
        donor = _nearest_cued(voices, i, paragraph)
        if donor is None and i > 0 and latent[i - 1] is not None and voices[i - 1][1] != paragraph:
            donor = latent[i - 1]
        if donor is None and i > 0 and out[i - 1].speaker and _is_list_item(voices, i):
            donor = out[i - 1]  # the next item of a list whose first item was attributed
        if donor is not None:
            out[i] = replace(donor, start=voice.start, end=voice.end,
                             cue=f"continues the quotation of {donor.speaker}")
    return out


def _headline_quotes(text: str, voices: list[Voice], is_heading: list[bool]) -> list[Voice]:
    """A headline that quotes a phrase someone says later in the document is theirs."""
    out = list(voices)
    for i, voice in enumerate(voices):
        if voice.speaker is not None or not is_heading[i]:
            continue
        for phrase in QUOTED_PHRASE.findall(text[voice.start:voice.end]):
            speaker = next((v for v in voices if v.speaker and not v.cue.startswith("headline")
                            and phrase.casefold() in text[v.start:v.end].casefold()), None)
            if speaker is not None and len(phrase.split()) >= 3:
                out[i] = replace(speaker, start=voice.start, end=voice.end,
                                 cue=f"headline quotes {speaker.speaker}: '{phrase}'")
                break
    return out


def _is_list_item(voices: list[tuple[Voice, int, bool]], i: int) -> bool:
    return voices[i][1] - voices[i - 1][1] <= 1 and voices[i][2]


def _nearest_cued(voices: list[tuple[Voice, int, bool]], i: int, paragraph: int) -> Voice | None:
    previous = voices[i - 1] if i > 0 else None
    if previous is not None and previous[1] != paragraph and previous[0].speaker is not None \
            and not any(v[1] == paragraph and v[0].speaker for v in voices):
        return previous[0]  # "X recommends that:" followed by a list, or a quoted statement
    for distance in range(1, len(voices)):
        for j in (i - distance, i + distance):
            if 0 <= j < len(voices) and voices[j][1] == paragraph \
                    and voices[j][0].speaker is not None \
                    and voices[j][0].cue != "continues the quotation":
                return voices[j][0]
    return None


def _opens_quote(text: str, start: int, end: int, state: _DocumentState) -> bool:
    """True when the sentence starts with a quotation mark or inside an open quotation."""
    inside = state.quote_open or state.single_open
    sentence = text[start:end]
    # Single quotes double as apostrophes, so they are followed only from sentence to sentence.
    if sentence.lstrip().startswith("‘"):
        state.single_open = True
    if state.single_open and sentence.rstrip().endswith(("’", "’.", ".’", "’”")):
        state.single_open = False
    for ch in sentence:
        if ch == "“":
            state.quote_open = True
        elif ch == "”":
            state.quote_open = False
        elif ch == "\"":
            state.quote_open = not state.quote_open
    return inside or starts_with_quote(sentence)


def _before(mentions: list[_Mention], position: int) -> list[_Mention]:
    return [m for m in mentions if m.end <= position]


