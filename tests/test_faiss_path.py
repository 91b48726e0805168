"""FAISS answers queries: the same top 10 as an exact numpy scan, one vector artifact on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus.ann import AnnParams
from askcorpus.dense import Dense
from askcorpus.errors import StaleIndexError
from askcorpus.retrieve import lexical_weight
from reliability_helpers import rechecksum

QUESTIONS = Path(__file__).resolve().parents[1] / "eval" / "questions.jsonl"


def _questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines()
            if line.strip()]


def _exact(index: askcorpus.Index, question: str, mask: np.ndarray, depth: int,
           mode: str = "hybrid") -> list[int]:
    """The fused ranking from an exact numpy scan of the vectors FAISS holds."""
    retriever, s = index.retriever, index.settings
    vector = index.encode_query(question)
    scores = retriever.score_all(vector, question, mode)  # type: ignore[arg-type]
    assert np.array_equal(scores.dense, retriever.vectors @ vector)
    weight = lexical_weight(question, named=s.named_lexical_weight, plain=s.plain_lexical_weight)
    return [c.row for c in retriever.exact_candidates(scores, mask, depth=depth, rrf_k=s.rrf_k,
                                                      lexical_weight=weight,
                                                      use_dense=mode != "lexical")]


def test_search_top10_equals_exact_scan(seed_index: askcorpus.Index) -> None:
    depth = max(10, seed_index.settings.candidates)
    mask = seed_index.view.allowed(None, None)
    rows = {p.passage_id: i for i, p in enumerate(seed_index.passages())}
    questions = _questions()
    assert len(questions) >= 100
    for question in questions:
        for mode in ("hybrid", "dense"):
            found = [rows[c.passage.passage_id]
                     for c in seed_index.search(question, k=10, mode=mode)]  # type: ignore
            assert found == _exact(seed_index, question, mask, depth, mode)[:10], question


def test_per_side_candidates_equal_exact_scan(seed_index: askcorpus.Index) -> None:
    s = seed_index.settings
    for question in _questions()[::7]:
        vector = seed_index.encode_query(question)
        scores = seed_index.retriever.score_all(vector, question, "hybrid")
        for side in seed_index.perspectives:
            mask = seed_index.view.allowed(None, None) & seed_index.view.side_mask(side)
            if not mask.any():
                continue
            fast = seed_index.retriever.candidates(scores, mask, depth=s.side_depth,
                                                   rrf_k=s.rrf_k, lexical_weight=0.5)
            exact = seed_index.retriever.exact_candidates(scores, mask, depth=s.side_depth,
                                                          rrf_k=s.rrf_k, lexical_weight=0.5)
            assert [c.row for c in fast] == [c.row for c in exact]
            assert all(mask[c.row] for c in fast)
            np.testing.assert_allclose([c.dense for c in fast], [c.dense for c in exact],
                                       atol=1e-5)


def test_one_vector_artifact_with_ann_params(hash_index: askcorpus.Index) -> None:
    generation = hash_index.index_dir / hash_index.generation
    manifest = json.loads((generation / "manifest.json").read_text())
    assert "vectors.npy" not in manifest["artifacts"] and "vectors.faiss" in manifest["artifacts"]
    assert AnnParams.from_dict(manifest["ann"]).kind == "flat"
    assert manifest["ann"]["size"] == len(hash_index.passages())
    vectors = hash_index.retriever.vectors
    assert not vectors.flags.writeable and vectors.shape[0] == len(hash_index.passages())
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_older_index_is_stale(hash_index: askcorpus.Index, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(hash_index.index_dir, copy)
    generation = copy / hash_index.generation
    np.save(generation / "vectors.npy", hash_index.retriever.vectors)
    manifest = json.loads((generation / "manifest.json").read_text())
    del manifest["ann"]
    manifest["artifacts"]["vectors.npy"] = {}
    manifest["format_version"] = 1
    (generation / "manifest.json").write_text(json.dumps(manifest))
    rechecksum(generation)
    with pytest.raises(StaleIndexError, match=rf"askcorpus build --index {copy}"):
        askcorpus.open(copy)


def test_hnsw_dense_searches_filtered_and_hands_out_vectors() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.1 * rng.normal(size=(20, 16)).astype(np.float32)
    dense = Dense.build(vectors, queries=queries, flat_max=100)
    assert dense.params.kind == "hnsw"
    np.testing.assert_array_equal(dense.vectors, vectors)
    mask = np.zeros(400, dtype=bool)
    mask[::3] = True
    rows, scores = dense.top(queries[0], 5, mask)
    exact = np.flatnonzero(mask)[np.argsort(-(vectors[mask] @ queries[0]))[:5]]
    assert rows.tolist() == exact.tolist()
    np.testing.assert_allclose(scores, dense.cosines(rows, queries[0]), atol=1e-5)
    import faiss  # a round trip through bytes, as the index writes it

    again = Dense(faiss.deserialize_index(np.frombuffer(dense.to_bytes(), dtype=np.uint8)),
                  dense.params)
    np.testing.assert_array_equal(again.vectors, vectors)
