"""Question validation: one place that every entry point (API, CLI, UI) passes through."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from typing import Any

from askcorpus.errors import QuestionError

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def clean_question(question: Any, *, max_chars: int) -> str:
    """The question, NFKC-normalised with control characters removed, or a QuestionError.

    The length is checked before anything else touches the text, so a 10 MB question is
    rejected without being normalised or tokenised.
    """
    if not isinstance(question, str):
        raise QuestionError("The question must be text; please enter a question.")
    if len(question) > max_chars:
        raise QuestionError(f"The question is {len(question)} characters long; the limit is "
                            f"{max_chars}. Please shorten it.")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
        raise QuestionError("The question contains invalid text (a lone surrogate); "
                            "please retype it.")
    text = unicodedata.normalize("NFKC", question)
    text = "".join(" " if _is_control(ch) else ch for ch in text if ch not in _INVISIBLE)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("Please enter a question.")
    return text


def check_k(k: Any, *, max_k: int) -> int:
    """``k`` as an int in 1..max_k, or a QuestionError that states the range."""
    if isinstance(k, bool) or not isinstance(k, int | float) or (
            isinstance(k, float) and (math.isnan(k) or not k.is_integer())):
        raise QuestionError(f"The number of passages must be a whole number from 1 to {max_k}.")
    if not 1 <= int(k) <= max_k:
        raise QuestionError(f"The number of passages must be from 1 to {max_k}, not {k}.")
    return int(k)


def check_filter(values: Iterable[str] | None, valid: Iterable[str], what: str) -> tuple[str, ...]:
    """The chosen filter values, each checked against the valid ones (listed in the error)."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    valid_set = sorted(set(valid))
    chosen = tuple(dict.fromkeys(str(v) for v in values))
    for value in chosen:
        if value not in valid_set:
            shown = value if len(value) <= 60 else value[:60] + "…"
            raise QuestionError(f"Unknown {what} {shown!r}; choose from: {', '.join(valid_set)}.")
    return chosen


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in "\n\t"
