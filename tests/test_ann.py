"""Index type by size: exact scan for small sets, HNSW with a tuned efSearch above."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from askcorpus import ann
from askcorpus.embedding import load_encoder
from askcorpus.errors import AskcorpusError
from askcorpus.settings import DEFAULT_MODEL

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def sentence_vectors() -> np.ndarray:
    """Real sentences of the seed corpus encoded with the real model."""
    sentences: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 5]
    return load_encoder(DEFAULT_MODEL).encode(sorted(set(sentences))[:800])


@pytest.fixture(scope="module")
def grown(sentence_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(4,000 passages, 100 tuning queries, 100 measured queries): real vectors held out as
    queries, the rest grown with noisy mixtures as benchmarks/scale.py does."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(sentence_vectors))
    tune, measure = sentence_vectors[order[:100]], sentence_vectors[order[100:200]]
    base = sentence_vectors[order[200:]]
    a, b = rng.integers(0, len(base), 4000), rng.integers(0, len(base), 4000)
    w = rng.uniform(0.5, 0.9, (4000, 1)).astype(np.float32)
    mix = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.015, (4000, base.shape[1]))
    mix = (mix / np.linalg.norm(mix, axis=1, keepdims=True)).astype(np.float32)
    return mix, tune, measure


def test_choice_by_size() -> None:
    assert ann.choose_params(ann.FLAT_MAX, 384).kind == "flat"
    big = ann.choose_params(ann.FLAT_MAX + 1, 384)
    assert (big.kind, big.m, big.ef_construction) == ("hnsw", ann.HNSW_M, ann.EF_CONSTRUCTION)
    huge = ann.choose_params(ann.DENSE_GRAPH_MIN + 1, 384)
    assert (huge.m, huge.ef_construction) == (ann.DENSE_HNSW_M, ann.DENSE_EF_CONSTRUCTION)


def test_flat_is_exact(sentence_vectors: np.ndarray) -> None:
    index, params = ann.build_ann(sentence_vectors)
    assert params.kind == "flat" and params.size == len(sentence_vectors)
    assert params.recall_at_10 == 1.0
    queries = sentence_vectors[:5]
    scores, ids = ann.search(index, params, queries, 10)
    expected = np.argsort(-(queries @ sentence_vectors.T), axis=1, kind="stable")[:, :10]
    assert (ids == expected).all()
    assert np.allclose(scores, np.take_along_axis(queries @ sentence_vectors.T, ids, axis=1),
                       atol=1e-5)


def test_hnsw_holds_the_recall_target_on_unseen_queries(grown: tuple) -> None:
    vectors, tune, measure = grown
    index, params = ann.build_ann(vectors, queries=tune, flat_max=1000)
    assert params.kind == "hnsw" and params.size == len(vectors)
    assert params.ef_search in ann.EF_SEARCH_CHOICES
    assert params.recall_at_10 is not None and params.recall_at_10 >= ann.TARGET_RECALL
    truth = ann.exact_neighbours(vectors, measure, 10)
    _, found = ann.search(index, params, measure, 10)
    assert ann.recall_at_k(found, truth) >= ann.TARGET_RECALL


def test_params_round_trip_and_apply_after_load(grown: tuple, tmp_path: Path) -> None:
    import faiss

    vectors, tune, _ = grown
    index, params = ann.build_ann(vectors, queries=tune, flat_max=1000)
    assert ann.AnnParams.from_dict(params.to_dict()) == params
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))
    loaded = faiss.read_index(str(tmp_path / "vectors.faiss"))
    loaded.hnsw.efSearch = 1
    ann.apply_params(loaded, params)
    assert loaded.hnsw.efSearch == params.ef_search
    assert ann.index_bytes(loaded) > vectors.nbytes  # vectors + graph


def test_filtered_hnsw_search_is_exact_over_the_allowed_rows(grown: tuple) -> None:
    vectors, tune, measure = grown
    index, params = ann.build_ann(vectors, queries=tune, flat_max=1000)
    allowed = np.arange(0, len(vectors), 7)
    scores, ids = ann.search(index, params, measure[:3], 10, allowed=allowed)
    sims = measure[:3] @ vectors[allowed].T
    expected = allowed[np.argsort(-sims, axis=1, kind="stable")[:, :10]]
    assert (ids == expected).all()
    assert np.allclose(scores, np.sort(sims, axis=1)[:, ::-1][:, :10], atol=1e-5)
    # Fewer allowed rows than k: the rest is padded with id -1, as FAISS does.
    _, few = ann.search(index, params, measure[:1], 10, allowed=np.array([3, 5]))
    assert sorted(few[0][:2].tolist()) == [3, 5] and (few[0][2:] == -1).all()


def test_filtered_flat_search_keeps_to_the_allowed_rows(sentence_vectors: np.ndarray) -> None:
    index, params = ann.build_ann(sentence_vectors)
    allowed = np.array([1, 4, 9, 16, 25])
    _, ids = ann.search(index, params, sentence_vectors[:2], 3, allowed=allowed)
    assert set(ids.ravel().tolist()) <= set(allowed.tolist())


def test_recall_at_k() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 2, 1], [5, 9, 10, 11]])
    assert ann.recall_at_k(found, truth, k=4) == pytest.approx((1.0 + 0.25) / 2)


def test_bad_input_is_refused() -> None:
    with pytest.raises(AskcorpusError, match="2-D"):
        ann.build_ann(np.zeros(384, dtype=np.float32))
    with pytest.raises(AskcorpusError, match="rebuild"):
        ann.AnnParams.from_dict({"kind": "ivfpq", "size": 1, "dim": 4})
