"""Speech cues: the words and shapes by which a sentence reports speech, and quote helpers.

Pure functions and patterns over text; ``attribution.py`` applies them sentence by sentence.
"""

from __future__ import annotations

import re

CUE = re.compile(
    r"\b(?:said|says|say|saying|stated|states|declared|declares|announced|announces|told|tells"
    r"|added|warned|warns|insisted|insists|noted|notes|wrote|writes|indicated|claimed|claims"
    r"|claiming|denied|denies|dismissed|testified|called\s+on|calls\s+on|urged|urges"
    r"|reiterated|threatened|made\s+explicit\s+threats|referred\s+to|recommends"
    r"|recommended|floated|raised\s+its|condemned|demanded|awarded|verified|called\s+for"
    r"|has\s+repeatedly\s+called|to\s+issue|issued\s+a\s+statement|in\s+a\s+statement"
    r"|according\s+to|[Aa]s\s+confirmed\s+by|as\s+documented\s+by|documented\s+by"
    r"|where\s+it\s+is\s+stated|stating\s+that|rejected|rejects|accused|accuses|alleged"
    r"|alleges|admitted|admits|conceded|concedes|boasted|downplayed|brushed\s+off|described"
    r"|argued|argues|quoted|promised|pledged|explained"
    # Capitalised headline verbs are left out: a headline is the publisher's voice.
    r"|Says|According\s+to)\b"
)
# Verbs by which the writer judges what someone said: "Azerbaijan dismisses concerns" is the
# writer's account of Azerbaijan, credited to Azerbaijan only when its own words are quoted.
JUDGING = re.compile(r"^(?:claim\w*|denie[sd]|dismiss\w*|floated|reject\w*|accuse[sd]"
                      r"|allege[sd]|admit\w*|conceded?s?|boasted|downplayed|brushed\s+off"
                      r"|described)$")
# "The company said": a definite description of an organisation named earlier in the document.
DEFINITE = re.compile(r"\b[Tt]he\s+(company|council|union|association|department|board"
                       r"|commission|hospital|charity|agency|authority|committee|ministry)\b")
LIST_FOLLOWS = re.compile(r"\s*\n\s*(?:[•*–-]|\d+[.)])\s")
# A line that names the author of what follows: "By Michael Rubin", "Message from X".
BYLINE = re.compile(r"(?:^|\s)(?:By|Message\s+from|Statement\s+[Bb]y)\s+(?:Ms\.\s+|Mr\.\s+)?$")
ANY_BYLINE = re.compile(r"(?:^|[\s?.!])By\s+[A-Z][\w’'.-]+\s+[A-Z][\w’'.-]+")
PREPOSITION = re.compile(r"\b(?:on|against|into|to|at|over|upon|about|between|and|by|of|with"
                          r"|for|under)\s+(?:the\s+)?$",
                          re.IGNORECASE)
APPOSITIVE = re.compile(r"^\s*,[^;“”\"]*,\s*(?:\w+\s+){0,3}$")
# Verbs whose subject may follow them ("said Aghayev", "according to the ministry").
INVERTIBLE = {"said", "says", "added", "wrote", "according to", "as confirmed by",
               "as documented by", "documented by"}
AFTER_ONLY = ("according", "as confirmed", "as documented", "documented")

# Cues whose speaker is the subject of the whole sentence ("X published ..., where it is stated").
SENTENCE_SUBJECT = {"where it is stated", "stating that"}
POSSESSIVE = re.compile(r"['’]s\b")  # "Russia's actions": a possessor, not a speaker
# Before a name the catalog does not know, these also mark it as no subject ("in Los Angeles").
NOT_SUBJECT = re.compile(r"\b(?:in|from|its|his|her|their|our|at|near|a|an)\s+"
                         r"(?:(?:the|a|an)\s+)?$",
                          re.IGNORECASE)
# A headline that announces a statement ("X Issues Second SOS Alert") lends its subject to a
# quotation printed right under it; the headline itself stays the publisher's.
ANNOUNCES = re.compile(r"\b(?:Issues|Says|Statement|Message|Remarks|Alert|Declares)\b")
# Where a clause (and so its subject) starts: "The company said", "..., but the company said".
CLAUSE_START = re.compile(r"(?:^|[.,;:]\s*|\b(?:and|but)\s+)$")
PASSIVE = re.compile(r"\b(?:is|was|are|were|be|been|being)\s+$")
NEAR = 50  # characters between a subject and its verb, unless an appositive ", ..., " intervenes
PRONOUN = re.compile(r"\b(he|she|He|She)\s+(?:also\s+|then\s+|later\s+)?$")
CLAUSE_JOINT = re.compile(r",\s+while\s+|;\s+|,\s+but\s+|,\s+whereas\s+")
QUOTED_PHRASE = re.compile(r"['‘“\"]([^'‘’“”\"]{8,120})['’”\"]")
QUOTE_PAIRS = (("“", "”"), ("\"", "\""))
CAPITALISED = re.compile(r"\b[A-Z][\w’'-]+\b")
SUBJECT_WINDOW = 160  # characters before a verb in which its subject is looked for


def holds_quotation(sentence: str) -> bool:
    """True when the sentence quotes someone's words (a phrase in double or single quotes)."""
    return any(q in sentence for q in "“”\"") or bool(QUOTED_PHRASE.search(sentence))

def last_joint(text: str, start: int, stop: int) -> tuple[int, int] | None:
    joints = list(CLAUSE_JOINT.finditer(text, start, stop))
    if not joints:
        return None
    j = joints[-1]
    # The comma or semicolon stays with the first clause; "while"/"but" opens the second.
    second = j.start() + 1
    while second < j.end() and text[second].isspace():
        second += 1
    return j.start() + 1, second

def starts_with_quote(sentence: str) -> bool:
    return sentence.lstrip().startswith(("“", "\"", "‘", "•"))

def mask_quotes(sentence: str) -> str:
    """The sentence with quoted words blanked out (same length), so cues inside quotes vanish."""
    chars = list(sentence)
    for opening, closing in QUOTE_PAIRS:
        position = 0
        while True:
            a = sentence.find(opening, position)
            if a == -1:
                break
            b = sentence.find(closing, a + 1)
            b = len(sentence) - 1 if b == -1 else b
            for k in range(a + 1, b):
                chars[k] = " "
            position = b + 1
    return "".join(chars)

def close_subject(text: str, subject_end: int, verb_at: int) -> bool:
    """The subject ends right before its verb, or an appositive (", a professor, ") sits between."""
    gap = text[subject_end:verb_at]
    if any(q in gap for q in ("“", "”", "\"")) or verb_at - subject_end > SUBJECT_WINDOW:
        return False
    if verb_at - subject_end <= NEAR and not re.search(r"[;]|\b(?:that|which|who)\b", gap):
        return True
    return bool(APPOSITIVE.match(gap))

def fold(name: str) -> str:
    return name.replace("’", "'").casefold()

def alias_pattern(alias: str) -> str:
    parts = []
    for ch in alias:
        parts.append("['’]" if ch in "'’" else r"\s+" if ch == " " else re.escape(ch))
    return "".join(parts)
