"""BM25 with stems for ranking and exact words for lexical support, and the index's record of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import askcorpus
from askcorpus.cli import open_or_build
from askcorpus.errors import StaleIndexError
from askcorpus.lexical import TOKENIZER, Lexical, exact_tokens, tokenize, words
from reliability_helpers import current_gen

TEXTS = ["Armenia says 520 soldiers have been killed.",
         "The ceasefire negotiated by Russia deteriorated.",
         "Families cannot reach their relatives by phone."]


def test_tokenize_stems_and_exact_tokens_keep_the_words() -> None:
    assert tokenize("The soldiers were KILLED") == ["soldier", "kill"]
    assert words("The soldiers were KILLED") == ["soldiers", "killed"]
    assert exact_tokens("soldiers") == ["=soldiers"]


def test_stems_rank_inflected_forms_but_support_counts_exact_words() -> None:
    lexical = Lexical.build(TEXTS)
    scores = lexical.scores("killing soldier")
    assert int(scores.argmax()) == 0 and scores[1] == scores[2] == 0.0
    # Ranking matched "killed" and "soldiers" through their stems; the exact wording did not.
    assert lexical.support("killing soldier", [0]) == 0.0
    assert lexical.support("killed soldiers", [0]) == pytest.approx(1.0)
    assert 0.0 < lexical.support("soldiers negotiated", [0, 1]) < 1.0
    assert lexical.support("killed", [1, 2]) == 0.0
    assert lexical.support("words nowhere", [0, 1, 2]) == 0.0


def test_an_index_built_with_another_tokenizer_is_stale_and_rebuilt(
        fixture_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    askcorpus.build(fixture_corpus, index_dir, model="hash:64")
    manifest_path = current_gen(index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["bm25"]["tokenizer"] = "nfkc-casefold-words-stopwords"  # an older askcorpus
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="askcorpus build --index"):
        askcorpus.open(index_dir)
    rebuilt = open_or_build(str(fixture_corpus), str(index_dir), log=False, model="hash:64",
                            rebuild=True)
    assert rebuilt.generation != manifest_path.parent.name
    assert askcorpus.open(index_dir).manifest["bm25"]["tokenizer"] == TOKENIZER


def test_two_vocabularies_score_exactly_like_two_separate_indexes() -> None:
    import bm25s

    lexical = Lexical.build(TEXTS)
    for make, query_tokens in ((tokenize, tokenize("killing soldiers by Russia")),
                               (exact_tokens, exact_tokens("killed soldiers by Russia"))):
        alone = bm25s.BM25()
        alone.index([make(t) for t in TEXTS], show_progress=False)
        expected = alone.get_scores([t for t in query_tokens if t in alone.vocab_dict])
        assert lexical._scores(query_tokens) == pytest.approx(expected, rel=1e-5)
