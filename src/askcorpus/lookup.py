"""Lookups: words typed to find them ("Patrick James", "white flag"), and "Who is X?".

A lookup is a text that is neither a question (a question mark; a question word, an
inverted auxiliary or a request for an answer first: "Who ...", "Did ...", "Name ...") nor
a clause (an auxiliary, copula or modal anywhere: "Teachers should be armed"). It asks
where the corpus holds its words. So does "Who is X?" or "What is X?" about a name X: what
the corpus says X is, it says where it names X. The passages that hold every word looked up
(BM25's stems, stopwords aside) answer it: they come first, then what the judge ranks next
(``answering.as_lookup``). That is what a lookup means, not a threshold: nothing here is
fitted. Any other question, and words no passage holds, is decided by the judge alone.

Measured (benchmarks/lookups.py, benchmarks/short_questions.py): the abstention model,
trained mostly on long questions, abstained on half the catalog's names typed alone and on
most "Who is X?" questions about them; on the 36 training texts read as lookups, the judge
alone was right on 21 out of fold and with lookups on 28 (wrong on two people named only in
a byline).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from askcorpus.lexical import tokenize
from askcorpus.retrieve import Candidate
from askcorpus.view import CorpusView

# Auxiliaries, copulas and modals: a text that holds one is a clause, a statement or a claim
# ("Teachers should be armed"), read for its meaning rather than for its words.
CLAUSE_WORDS = frozenset([
    "is", "are", "was", "were", "am", "be", "been", "being", "do", "does", "did", "has",
    "have", "had", "can", "could", "shall", "should", "will", "would", "may", "might", "must",
])
# What opens an English question: a wh-word, an inverted auxiliary ("Did Baku ...", "Is the
# fighting ..."), or a request for an answer rather than for where words occur ("Name ...").
QUESTION_OPENERS = frozenset([
    "what", "who", "whom", "whose", "when", "where", "why", "how", "which",
    "name", "list", "tell", "give", "explain", "describe", "compare", "summarise", "summarize",
]) | (CLAUSE_WORDS - {"be", "been", "being"})
_WORD = re.compile(r"\w+")
# "Who is X?", "What are the X?": asks what the corpus says X is, so X is what to look up.
_ASKS_WHO_OR_WHAT = re.compile(r"\s*(?:who|what)\s+(?:is|are|was|were)\s+(?:(?:the|an?)\s+)?"
                               r"(?P<name>[^?？]*[^?？\s])\s*[?？]\s*", re.IGNORECASE)


def is_question(text: str) -> bool:
    """Whether ``text`` is phrased as a question (a question mark or a question opener)."""
    if "?" in text or "？" in text:
        return True
    words = _words(text)
    return bool(words) and words[0] in QUESTION_OPENERS


def is_lookup(text: str) -> bool:
    """Whether ``text`` is words to find: neither a question nor a clause."""
    return not is_question(text) and not CLAUSE_WORDS.intersection(_words(text))


def looked_up(text: str) -> str | None:
    """The words ``text`` looks up: all of a lookup; the name X of a "Who is X?" or "What is
    X?" question when X reads as a name (its first and last words capitalised, no
    possessive: "Yuri Kim", "the Lemkin Institute", not "Azerbaijan's defence minister");
    otherwise None."""
    if is_lookup(text):
        return text
    found = _ASKS_WHO_OR_WHAT.fullmatch(unicodedata.normalize("NFKC", text))
    if found is None:
        return None
    name = found.group("name")
    words = name.split()
    if "'s" in name or "’s" in name or not (words[0][0].isupper() and words[-1][0].isupper()):
        return None
    return name


def lookup_stems(text: str) -> frozenset[str]:
    """The stems a lookup asks for; empty for any other question or clause."""
    words = looked_up(text)
    return frozenset(tokenize(words)) if words else frozenset()


def holders(question: str, ranked: Sequence[Candidate], view: CorpusView
            ) -> tuple[Candidate, ...]:
    """The candidates holding every word ``question`` looks up, in ``ranked``'s order (none
    when it looks nothing up)."""
    stems = lookup_stems(question)
    if not stems:
        return ()
    return tuple(c for c in ranked if _holds_stems(stems, view.passages[c.row].text))


def holds(words: str, text: str) -> bool:
    """Whether ``text`` holds every word of ``words`` (BM25's stems, stopwords aside)."""
    return _holds_stems(frozenset(tokenize(words)), text)


def holders_first(ranked: Sequence[Candidate], held: Sequence[Candidate]
                  ) -> tuple[Candidate, ...]:
    """``ranked`` with the lookup's holders moved to the front, each group's order kept."""
    rows = {c.row for c in held}
    return tuple(held) + tuple(c for c in ranked if c.row not in rows)


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _holds_stems(stems: frozenset[str], text: str) -> bool:
    return stems <= set(tokenize(text))
