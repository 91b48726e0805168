"""Settings: one frozen record of every tunable, built at the edges (CLI flags, callers).

Each field's default is the value we measured to be best, and the note beside it says how.
Nothing else in the package holds a number that changes what an answer says.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# The packaged all-MiniLM-L6-v2, and the same model with our fine-tuned low-rank factors
# merged in (adapter.py; trained by `askcorpus train --encoder`, models/README.md).
BASE_MODEL = "all-MiniLM-L6-v2"
TUNED_MODEL = "askcorpus-minilm"
DEFAULT_MODEL = TUNED_MODEL


@dataclass(frozen=True)
class Settings:
    """Every knob of askcorpus, with the value we measured to be best as its default."""

    model: str = DEFAULT_MODEL
    batch_size: int = 32

    # --- input limits (RELIABILITY.md: a huge question is refused before any work).
    max_question_chars: int = 2000
    max_k: int = 100
    max_doc_bytes: int = 20_000_000

    # --- chunking: about 40-150 words per passage, never cutting a sentence.
    min_words: int = 40
    max_words: int = 150

    # --- lexical search: Lucene BM25 as bm25s implements it; the values recorded in the
    # manifest are the ones the index was built with.
    bm25_k1: float = 1.5
    bm25_b: float = 0.75

    # --- retrieval and fusion (weighted RRF, Cormack et al. 2009).
    candidates: int = 50  # each retriever's depth before fusion
    candidates_per_k: int = 4  # an answer of k passages fuses at least 4k candidates
    rrf_k: int = 60
    # BM25's weight in the fusion, measured with `askcorpus eval` on the seeds and Perspectrum
    # dev: BM25 earns its place for names and figures (seeds R@5 0.637 -> 0.660 at 0.8) but
    # hurts on generic claims (Perspectrum nDCG@10 0.595 at 0.5, 0.612 at 0.1). A question
    # that names something or holds a figure gets the first, any other the second.
    named_lexical_weight: float = 0.8
    plain_lexical_weight: float = 0.1

    # --- abstention (calibrated on eval/questions.jsonl; see answering.py's docstring).
    answer_depth: int = 20  # how many fused candidates the abstention rule reads
    min_dense: float = 0.35
    confident_dense: float = 0.55
    min_lexical_support: float = 0.30

    # --- sides and the contested flag (see answering.py's docstring).
    relevance_margin: float = 0.20
    side_depth: int = 10  # candidates searched within each perspective
    side_min_dense: float = 0.60
    side_max_rank: int = 10
    asked_side_min_dense: float = 0.50

    # --- who decides answers: the trained models ("learned", models/README.md) or the
    # hand-written rules of answering.py ("rules", the 0.1 release).
    judge: str = "learned"
    # A lookup (words typed to find them, or "Who is X?" about a name) is answered by the
    # passages that hold all its words, whatever the judge (lookup.py); False leaves lookups
    # to the judge.
    answer_lookups: bool = True

    # --- highlights: a sentence shorter than this is a heading or a fragment, not an answer.
    min_highlight_words: int = 4

    def with_model(self, model: str | None) -> Settings:
        """These settings with ``model`` in place of the default (``None`` keeps it)."""
        return self if model is None else replace(self, model=model)
