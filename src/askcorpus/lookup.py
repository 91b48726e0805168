"""Lookups: words typed to find them ("Patrick James", "white flag"), not a question.

A lookup is a text that is neither a question (a question mark; a question word, an
inverted auxiliary or a request for an answer first: "Who ...", "Did ...", "Name ...") nor
a clause (an auxiliary, copula or modal anywhere: "Teachers should be armed"). It asks
where the corpus holds its words, so the passages that hold every one of them (BM25's
stems, stopwords aside) answer it: they come first, then what the judge ranks next
(``answering.as_lookup``). That is what a lookup means, not a threshold: nothing here is
fitted. A lookup that no passage holds, and every question, is decided by the judge alone:
its abstention model, trained on questions, abstained on half the catalog's names that the
seed corpus holds (benchmarks/lookups.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from askcorpus.lexical import tokenize
from askcorpus.retrieve import Candidate
from askcorpus.view import CorpusView

# English question openers: wh-words, the auxiliaries, copulas and modals that open a yes/no
# question by inversion ("Did Baku ...", "Is the fighting ..."), and requests.
QUESTION_OPENERS = frozenset([
    "what", "who", "whom", "whose", "when", "where", "why", "how", "which",
    "is", "are", "was", "were", "am", "do", "does", "did", "has", "have", "had",
    "can", "could", "shall", "should", "will", "would", "may", "might", "must",
    # requests that ask for an answer, not for where words occur
    "name", "list", "tell", "give", "explain", "describe", "compare", "summarise", "summarize",
])
# Auxiliaries, copulas and modals: a text that holds one is a clause, a statement or a claim
# ("Teachers should be armed"), read for its meaning rather than for its words.
CLAUSE_WORDS = frozenset([
    "is", "are", "was", "were", "am", "be", "been", "being", "do", "does", "did", "has",
    "have", "had", "can", "could", "shall", "should", "will", "would", "may", "might", "must",
])
_WORD = re.compile(r"\w+")


def is_question(text: str) -> bool:
    """Whether ``text`` is phrased as a question (a question mark or a question opener)."""
    if "?" in text or "？" in text:
        return True
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return bool(words) and words[0] in QUESTION_OPENERS


def is_lookup(text: str) -> bool:
    """Whether ``text`` is words to find: neither a question nor a clause."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return not is_question(text) and not CLAUSE_WORDS.intersection(words)


def lookup_stems(text: str) -> frozenset[str]:
    """The stems a lookup asks for; empty for a question, a clause or stopwords only."""
    return frozenset(tokenize(text)) if is_lookup(text) else frozenset()


def holders(question: str, ranked: Sequence[Candidate], view: CorpusView
            ) -> tuple[Candidate, ...]:
    """The candidates holding every word of a lookup, in ``ranked``'s order (none for a
    question)."""
    stems = lookup_stems(question)
    if not stems:
        return ()
    return tuple(c for c in ranked if stems <= set(tokenize(view.passages[c.row].text)))


def holders_first(ranked: Sequence[Candidate], held: Sequence[Candidate]
                  ) -> tuple[Candidate, ...]:
    """``ranked`` with the lookup's holders moved to the front, each group's order kept."""
    rows = {c.row for c in held}
    return tuple(held) + tuple(c for c in ranked if c.row not in rows)
