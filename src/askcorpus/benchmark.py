"""The Perspectrum benchmark: claim → perspective retrieval with stance labels.

`askcorpus eval --benchmark ../shared/perspectrum --split dev` indexes the benchmark's
``corpus.jsonl`` (once, cached in ~/.cache/askcorpus/perspectrum and reused while the file's
SHA-256 is unchanged), ranks the perspectives of every claim of ``queries-<split>.jsonl`` with
lexical, dense, hybrid and full retrieval, and scores recall@10, nDCG@10, MRR@10 (ir-measures,
binary relevance) and both-sides@10.

"full" is dense retrieval with pseudo-relevance feedback followed by maximal marginal
relevance (MMR) over the top candidates: the engine has no diversification step of its own
yet. Its parameters were chosen on the train split, never on dev (see eval/REPORT.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.evaluation import fmt, machine, percentile

CACHE = Path.home() / ".cache" / "askcorpus" / "perspectrum"
K = 10
CONFIGS = ("lexical", "dense", "hybrid", "full")
METRICS = ("R@10", "nDCG@10", "MRR@10", "both_sides@10", "latency_p50_ms", "latency_p95_ms")
# "full" (tuned on the train split): pool of dense candidates, pseudo-relevance feedback
# (query + PRF_WEIGHT * mean of its PRF_DOCS nearest passages), then MMR with MMR_LAMBDA.
POOL = 50
PRF_DOCS = 5
PRF_WEIGHT = 0.5
MMR_LAMBDA = 0.85
LEXICAL_WEIGHT = 0.0
STANCES = ("SUPPORT", "UNDERMINE")


# ---------------------------------------------------------------------------- pure functions
def mmr(candidates: Sequence[tuple[int, float]], vectors: np.ndarray, lambda_: float,
        k: int = K) -> list[int]:
    """Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998) over ``candidates``.

    ``candidates`` are (row, relevance) pairs, ``vectors`` the normalised passage vectors
    indexed by row. Each step picks the row maximising
    ``lambda_ * relevance - (1 - lambda_) * max cosine to the rows already picked``.
    """
    if not candidates:
        return []
    rows = np.array([r for r, _ in candidates])
    relevance = np.array([s for _, s in candidates], dtype=np.float64)
    sims = vectors[rows] @ vectors[rows].T
    closest = np.zeros(len(rows))
    left = np.ones(len(rows), dtype=bool)
    chosen: list[int] = []
    while left.any() and len(chosen) < k:
        score = lambda_ * relevance - (1 - lambda_) * closest
        pick = int(np.flatnonzero(left)[np.argmax(score[left])])
        chosen.append(int(rows[pick]))
        left[pick] = False
        closest = np.maximum(closest, sims[pick])
    return chosen


def feedback(query: np.ndarray, vectors: np.ndarray, docs: int = PRF_DOCS,
             weight: float = PRF_WEIGHT) -> np.ndarray:
    """Rocchio pseudo-relevance feedback: the query moved toward its ``docs`` nearest rows."""
    if docs <= 0 or weight == 0 or len(vectors) == 0:
        return query
    scores = vectors @ query
    top = np.argpartition(-scores, min(docs, len(scores) - 1))[:docs]
    moved = query + weight * vectors[top].mean(axis=0)
    return moved / np.linalg.norm(moved)


def both_sides(relevant: dict[str, str], ranked: Sequence[str], k: int = K) -> bool | None:
    """Top ``k`` holds a relevant SUPPORT and a relevant UNDERMINE; None without both in gold."""
    if not set(STANCES) <= set(relevant.values()):
        return None
    found = {relevant.get(doc) for doc in ranked[:k]}
    return all(s in found for s in STANCES)


def metrics(queries: Sequence[dict[str, Any]], rankings: dict[str, Sequence[str]],
            k: int = K) -> dict[str, Any]:
    """R@10, nDCG@10, MRR@10 (ir-measures, binary qrels) and both-sides@10 over ``queries``."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    measures = {"R@10": R @ k, "nDCG@10": nDCG @ k, "MRR@10": RR @ k}
    names = {str(m): name for name, m in measures.items()}
    qrels = [ir_measures.Qrel(q["id"], doc, 1) for q in queries for doc in q["relevant"]]
    run = [ir_measures.ScoredDoc(q["id"], doc, float(k - rank)) for q in queries
           for rank, doc in enumerate(rankings.get(q["id"], [])[:k])]
    per_query = {q["id"]: dict.fromkeys(measures, 0.0) for q in queries}
    if run:
        for m in ir_measures.iter_calc(list(measures.values()), qrels, run):
            per_query[m.query_id][names[str(m.measure)]] = float(m.value)
    out: dict[str, Any] = {name: float(np.mean([per_query[q][name] for q in per_query]))
                           for name in measures}
    flags = [f for q in queries
             if (f := both_sides(q["relevant"], rankings.get(q["id"], []), k)) is not None]
    out["both_sides@10"] = float(np.mean(flags)) if flags else None
    out.update(n=len(queries), n_both=len(flags))
    return out


# ---------------------------------------------------------------------------- the index
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(folder: str | Path, cache: Path = CACHE) -> tuple[Any, dict[str, Any]]:
    """The benchmark index, reused while corpus.jsonl is unchanged, else (re)built."""
    import askcorpus
    from askcorpus.errors import IndexError_

    source = Path(folder) / "corpus.jsonl"
    corpus, index_dir = cache / "corpus", cache / "index"
    copy = corpus / "corpus.jsonl"
    corpus.mkdir(parents=True, exist_ok=True)
    if not copy.is_file() or sha256(copy) != sha256(source):
        shutil.copyfile(source, copy)
    started = time.perf_counter()
    try:
        index, built = askcorpus.open(index_dir), False
    except IndexError_:
        index, built = askcorpus.build(corpus, index_dir), True
    return index, {"built": built, "index_seconds": round(time.perf_counter() - started, 2),
                   "index": str(index_dir), "corpus_sha256": sha256(copy),
                   "passages": index.manifest["counts"]["passages"]}


def full_ranking(index: Any, claim: str, *, pool: int = POOL, prf_docs: int = PRF_DOCS,
                 prf_weight: float = PRF_WEIGHT, lambda_: float = MMR_LAMBDA,
                 lexical_weight: float = LEXICAL_WEIGHT, k: int = K) -> list[str]:
    """Pseudo-relevance feedback, then dense (or lightly fused) candidates, then MMR."""
    retriever = index._retriever  # TODO: public accessors (see the report)
    query = index._encode_query(claim)
    if query is None:
        return []
    query = feedback(query, retriever.vectors, prf_docs, prf_weight)
    scores = retriever.score_all(query, claim, "hybrid" if lexical_weight > 0 else "dense")
    found = retriever.candidates(scores, index._searchable, depth=pool,
                                 rrf_k=index.settings.rrf_k, lexical_weight=lexical_weight,
                                 use_dense=True)[:pool]
    rows = (mmr([(c.row, c.dense) for c in found], retriever.vectors, lambda_, k)
            if lambda_ < 1.0 else [c.row for c in found[:k]])
    passages = index.passages()
    return [passages[r].doc_id for r in rows]


# ---------------------------------------------------------------------------- running
def load_queries(folder: str | Path, split: str, limit: int | None = None) -> list[dict]:
    path = Path(folder) / f"queries-{split}.jsonl"
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit] if limit is not None else rows


def rank_all(queries: Sequence[dict], rank: Callable[[str], list[str]]
             ) -> tuple[dict[str, list[str]], list[float]]:
    rankings, ms = {}, []
    for q in queries:
        started = time.perf_counter()
        rankings[q["id"]] = rank(q["text"])
        ms.append((time.perf_counter() - started) * 1000)
    return rankings, ms


def variants(index: Any) -> dict[str, Callable[[str], list[str]]]:
    """Alternatives to "full", reported side by side so the choice stays visible."""
    return {
        "dense+MMR": lambda c: full_ranking(index, c, prf_docs=0),
        "dense+PRF": lambda c: full_ranking(index, c, lambda_=1.0),
        "hybrid(w=0.1)+PRF+MMR": lambda c: full_ranking(index, c, lexical_weight=0.1),
    }


def run(folder: str | Path, split: str = "dev", *, limit: int | None = None,
        with_variants: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    index, meta = prepare(folder)
    queries = load_queries(folder, split, limit)
    index.search("warm-up query", k=1, mode="dense")
    rankers: dict[str, Callable[[str], list[str]]] = {
        mode: (lambda c, mode=mode: [x.passage.doc_id
                                      for x in index.search(c, k=K, mode=mode)])
        for mode in CONFIGS[:3]}
    rankers["full"] = lambda c: full_ranking(index, c)
    results: dict[str, Any] = {"configs": {}, "variants": {}}
    for name, rank in rankers.items():
        rankings, ms = rank_all(queries, rank)
        results["configs"][name] = {**metrics(queries, rankings),
                                    "latency_p50_ms": percentile(ms, 50),
                                    "latency_p95_ms": percentile(ms, 95)}
    for name, rank in (variants(index) if with_variants else {}).items():
        rankings, ms = rank_all(queries, rank)
        results["variants"][name] = {**metrics(queries, rankings),
                                     "latency_p50_ms": percentile(ms, 50),
                                     "latency_p95_ms": percentile(ms, 95)}
    full, dense = results["configs"]["full"], results["configs"]["dense"]
    results["full_beats_dense"] = {m: full[m] > dense[m] for m in ("nDCG@10", "both_sides@10")}
    results["meta"] = {**meta, "split": split, "claims": len(queries), "k": K,
                       "full": {"pool": POOL, "prf_docs": PRF_DOCS, "prf_weight": PRF_WEIGHT,
                                "mmr_lambda": MMR_LAMBDA},
                       "model": index.manifest["model"]["name"],
                       "seconds": round(time.perf_counter() - started, 2), **machine()}
    return results


# ---------------------------------------------------------------------------- output
def _table(columns: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    from askcorpus.evaluation import table

    return table(columns, METRICS, markdown=markdown)


def print_results(results: dict[str, Any]) -> None:
    m = results["meta"]
    print(f"Perspectrum {m['split']}: {m['claims']} claims, {m['passages']} passages "
          f"({'built' if m['built'] else 'reused'} index in {m['index_seconds']:.1f} s)")
    print(_table(results["configs"]))
    if results["variants"]:
        print("\nAlternatives to full:")
        print(_table(results["variants"]))
    beats = results["full_beats_dense"]
    print("\nfull > dense: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in beats.items()))
    print(f"Benchmark ran in {m['seconds']:.1f} s")


def report_section(results: dict[str, Any]) -> list[str]:
    m, f = results["meta"], results["meta"]["full"]
    n_both = results["configs"]["full"]["n_both"]
    out = [f"## Perspectrum ({m['split']} split)", "",
           f"{m['claims']} claims against {m['passages']} perspective sentences (CC BY-SA 4.0, "
           f"Chen et al., NAACL 2019), model {m['model']}, k = {m['k']}; ran in "
           f"{m['seconds']:.1f} s including the index ({'built' if m['built'] else 'reused'}, "
           f"{m['index_seconds']:.1f} s). both-sides@10 is over the {n_both} "
           "claims with both stances in their gold.", "",
           f"\"full\" = dense search with pseudo-relevance feedback ({f['prf_docs']} passages, "
           f"weight {f['prf_weight']}) and MMR (lambda {f['mmr_lambda']}) over the top "
           f"{f['pool']} candidates; parameters chosen on the train split.", "",
           _table(results["configs"], markdown=True), ""]
    if results["variants"]:
        out += ["Alternatives to full, same run:", "",
                _table(results["variants"], markdown=True), ""]
    beats = results["full_beats_dense"]
    out += ["full > dense: " + ", ".join(f"{k} {'yes' if v else 'no'}"
                                         for k, v in beats.items()), ""]
    return out


__all__ = ["both_sides", "feedback", "fmt", "metrics", "mmr", "run"]
