"""Settings: one frozen record of every tunable, built at the edges (CLI flags, callers)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    """Every knob of askcorpus, with the value we measured to be best as its default.

    The abstention threshold and fusion weights were calibrated with ``askcorpus eval``
    on ``eval/questions.jsonl``; see ``perspectives.py`` for why each value was chosen.
    """

    model: str = DEFAULT_MODEL
    max_question_chars: int = 2000
    max_k: int = 100
    # Chunking: about 40-150 words per passage, never cutting a sentence.
    min_words: int = 40
    max_words: int = 150
    max_doc_bytes: int = 20_000_000
    # Retrieval: how many candidates each retriever contributes before fusion.
    candidates: int = 50
    rrf_k: int = 60
    # Abstention and relevance (calibrated on eval/questions.jsonl, see perspectives.py).
    min_dense: float = 0.35
    confident_dense: float = 0.55
    min_lexical_support: float = 0.30
    relevance_margin: float = 0.20
    side_min_dense: float = 0.60
    side_max_rank: int = 10
    asked_side_min_dense: float = 0.50
    batch_size: int = 32

    def with_model(self, model: str | None) -> Settings:
        from dataclasses import replace

        return self if model is None else replace(self, model=model)
