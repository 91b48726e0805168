"""Speakers the catalog does not know: people and organisations named in the text, with roles.

A corpus without a catalog still quotes people. A run of capitalised words is read as a
name when it looks like one: two to four name-like words ("Jane Doe", "Luis Moreno Ocampo"),
or one word after a title ("Mayor Park"), or words ending with an organisation's head noun
("Riverside Water Authority"). Title words in front ("Foreign Minister Jane Doe") become the
role as written. The rules are deliberately narrow: a missed speaker leaves a passage in the
publisher's voice, a wrong one would put words in someone's mouth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


# Words that open a sentence or a clause, or name a time: never the first word of a name.
def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP = _wordset("""
a an the this that these those but and or so yet nor later earlier meanwhile however still
then when while after before since if as at in on by for from with without of to under over
during last next speaking asked according both many some several other another it he she they
we i you his her their our its my your there here what who why how where which one two three
monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december today yesterday tomorrow breaking update read
watch see also more most such each every no not all any because although though unless until
despite against among between into through amid like near per via upon around about above below
across behind beyond toward towards within whereas whether over under
""")
# Words that name a role; in front of a name they are the person's title, not their name.
_TITLE = _wordset("""
minister mayor governor senator representative rep rep. sen sen. councilwoman councilman
councillor councilor councilmember judge justice chief president vice secretary director
superintendent dr dr. professor prof prof. ambassador commissioner chairman chairwoman chair
chairperson spokesperson spokesman spokeswoman sheriff officer detective captain general
attorney lawyer ceo executive manager inspector trustee leader mr mr. mrs mrs. ms ms. pm
administrator deputy foreign prime interim acting former assistant principal coach pastor
father sister reverend rev rev. lt lt. col col. sgt sgt. gov gov. pres pres. amb amb.
patient nurse doctor student parent resident engineer advocate coordinator mediator official
steward economist analyst researcher activist organiser organizer
""")
# Head nouns of organisations: a name ending in one is an institution, not a person.
_ORG = _wordset("""
council board authority department ministry union association company corporation corp corp.
inc inc. ltd ltd. llc court commission agency office institute foundation committee service
services police district federation group coalition party bank hospital university school
schools college church army forces government administration bureau centre center watch
international nations states times post news press network tribune herald gazette journal
cross fund society alliance league organisation organization club team assembly parliament
senate congress utility utilities works trust
""")
# Words of place names: a run holding one is a place, not a person ("Los Angeles").
_PLACE = _wordset("""
united kingdom republic north south east west northern southern eastern western central los
las san santa saint st st. fort port lake river mount island islands city county valley bay
beach street avenue road square hall bridge station airport province region state
""")
_NAME_WORD = re.compile(r"[A-Z][a-z]+(?:[-'’][A-Za-z][a-z]+)*\.?|[A-Z]\.|[A-Z]{2,5}")
_CONNECTOR = frozenset({"de", "la", "le", "van", "von", "da", "del", "der", "di", "du", "of",
                        "for", "bin"})
_APPOSITIVE_ROLE = re.compile(r",\s+((?:(?:a|an|the|its|his|her|their)\s+)?[a-z][^,;“”\"]{2,80}?)"
                              r"\s*(?=,|\.\s|\.$|;|$)")
_ROLE_NOUN = re.compile(r"\b(?:" + "|".join(sorted(_TITLE | {"member", "chair", "head"}))
                        .replace(".", r"\.") + r")\b")
_ROLE_BEFORE = re.compile(r"((?:[\w’'-]+\s+){0,3}?(?:leader|spokesperson|spokesman|spokeswoman"
                          r"|director|manager|president|chair|chairwoman|chairman|member"
                          r"|lawyer|attorney|organizer|organiser|official|analyst|expert"
                          r"|resident|owner|teacher|parent|worker|driver|nurse|engineer"
                          r"|economist|researcher|professor|scientist|advocate|activist"
                          r"|representative|executive|officer|secretary|judge|minister)\s+)$")


@dataclass(frozen=True)
class NameSpan:
    """A name found in a sentence: where it is, the name itself, its title and its kind."""

    start: int
    end: int
    name: str
    title: str
    kind: str  # "person" or "institution"


def find_names(masked: str, offset: int = 0) -> list[NameSpan]:
    """Names in ``masked`` (a sentence with its quotations blanked), offsets shifted by ``offset``.

    Example:
        >>> [n.name for n in find_names("Foreign Minister Jane Doe said it was over.")]
        ['Jane Doe']
    """
    out = []
    for run in _runs(masked):
        span = _classify(masked, run)
        if span is not None:
            out.append(NameSpan(span.start + offset, span.end + offset, span.name, span.title,
                                span.kind))
    return out


def role_as_written(text: str, start: int, end: int) -> str:
    """The role the text gives a name at ``text[start:end]``: a title before it, or an
    appositive after it (", the city's water director,")."""
    before = _ROLE_BEFORE.search(text[max(0, start - 60):start])
    if before and not any(w.lower() in _STOP for w in before.group(1).split()[:1]):
        return before.group(1).strip()
    after = _APPOSITIVE_ROLE.match(text, end)
    if after is None:
        return ""
    role = after.group(1).strip()
    # "a nurse", "president of the union": an article or a role word; not ", said Doe".
    has_article = role.split()[0] in ("a", "an", "the", "its", "his", "her", "their")
    return role if has_article or _ROLE_NOUN.match(role) else ""


def surname(name: str) -> str:
    return name.split()[-1]


def _runs(masked: str) -> list[tuple[int, int, list[re.Match[str]]]]:
    """Maximal runs of capitalised words, joined by single spaces or name connectors ("de")."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for word in re.finditer(r"\S+", masked):
        core = word.group().lstrip("“‘\"'(").rstrip(",;:!?)”’\"")
        name_like = bool(_NAME_WORD.fullmatch(core.removesuffix("’s").removesuffix("'s")))
        joined = bool(current) and masked[current[-1].end():word.start()] == " " \
            and current[-1].group()[-1] not in ",;:!?)”’\""
        if name_like and core.lower() in _STOP:
            name_like = False  # "The", "By", "After": a run of names stops here
        opens_quote = word.group()[0] in "“‘\"'("
        if (name_like and (not current or (joined and not opens_quote))) \
                or (joined and core in _CONNECTOR):
            current.append(word)
        else:
            if current:
                runs.append(current)
            current = [word] if name_like else []
    if current:
        runs.append(current)
    return [(r[0].start(), r[-1].end(), r) for r in runs]


def _classify(masked: str, run: tuple[int, int, list[re.Match[str]]]) -> NameSpan | None:
    words = list(run[2])
    while words and words[-1].group().lower() in _CONNECTOR:
        words.pop()
    while words and words[0].group().strip("“‘\"'(").lower() in _STOP:
        words.pop(0)
    if not words:
        return None
    clean = [w.group().strip("“‘\"'(),;:!?") for w in words]
    if clean[-1].endswith(("’s", "'s")):
        return None  # a possessor ("Doe's plan"), not a speaker
    lowered = [c.lower() for c in clean]
    if lowered[-1].rstrip(".") in _ORG or lowered[-1] in _ORG:
        if len(clean) < 2:
            return None  # "Council" alone is a common noun at the start of a sentence
        name = " ".join(clean).rstrip(".")
        return NameSpan(words[0].start(), words[0].start() + len(name), name, "", "institution")
    # Everything up to the last role or organisation word is the title: "Assistant District
    # Attorney Lauren Kim", "Fire Chief Robert Nguyen".
    titles = max((i + 1 for i, w in enumerate(lowered) if w in _TITLE or w in _ORG), default=0)
    name_words = clean[titles:]
    if any(w.lower() in _ORG or w.lower() in _TITLE or w.lower() in _STOP
           or w.lower() in _PLACE for w in name_words):
        return None
    if not name_words or len(name_words) > 4 or any(w.isupper() and len(w) > 1
                                                      for w in name_words):
        return None
    if len(name_words) == 1 and titles == 0:
        return None  # a lone capitalised word is a name only after a title or a known name
    first = words[titles]
    name = " ".join(name_words).rstrip(".")
    return NameSpan(first.start(), first.start() + len(" ".join(name_words).rstrip(".")), name,
                    " ".join(clean[:titles]), "person")
