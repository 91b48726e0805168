"""What int8 dynamic quantization of the ONNX model costs in retrieval quality.

Dense-only exact retrieval, nDCG@10 (ir-measures, binary relevance), on the seed questions
(eval/questions.jsonl: a passage is relevant when it overlaps a gold quote) and on Perspectrum
dev claims, for: fp32 ONNX on both sides, int8 on both sides (an index built with int8), and
int8 queries against fp32 passages. The int8 model is used only if it loses ≤ 0.005 nDCG@10
on both sets (issue 14).

    python benchmarks/quantization.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PERSPECTRUM = ROOT.parent / "shared" / "perspectrum"
MAX_LOSS = 0.005
K = 10


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ndcg_at_10(qrels: dict[str, set[str]], runs: dict[str, list[str]]) -> float:
    """Mean nDCG@10 over the queries of ``qrels`` (a query with no run scores 0)."""
    import ir_measures
    from ir_measures import nDCG

    rows = [ir_measures.Qrel(q, d, 1) for q, ds in qrels.items() for d in ds]
    run = [ir_measures.ScoredDoc(q, d, float(K - r)) for q, ds in runs.items()
           for r, d in enumerate(ds[:K])]
    per_query = {m.query_id: m.value for m in ir_measures.iter_calc([nDCG @ K], rows, run)}
    return float(np.mean([per_query.get(q, 0.0) for q in qrels]))


def _rank(passages: np.ndarray, queries: np.ndarray, ids: list[str]) -> list[list[str]]:
    top = np.argsort(-(queries @ passages.T), axis=1, kind="stable")[:, :K]
    return [[ids[i] for i in row] for row in top]


def seed_task() -> tuple[list[str], list[str], list[str], dict[str, set[str]]]:
    """(passage texts, passage ids, question texts, qrels) of the answerable seed questions."""
    from askcorpus.attribution import Attributor
    from askcorpus.corpus import load_corpus
    from askcorpus.passages import split_document

    corpus = load_corpus(ROOT / "seeds")
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    docs = {d.doc_id: d for d in corpus.documents}
    passages = [p for d in corpus.documents for p in split_document(d, attributor)]
    questions = [q for q in _jsonl(ROOT / "eval" / "questions.jsonl") if q["evidence"]]
    qrels: dict[str, set[str]] = {}
    for q in questions:
        for ev in q["evidence"]:
            start = docs[ev["doc"]].text.find(ev["quote"])
            end = start + len(ev["quote"])
            qrels.setdefault(q["id"], set()).update(
                p.passage_id for p in passages
                if p.doc_id == ev["doc"] and p.start < end and start < p.end)
    return ([p.text for p in passages], [p.passage_id for p in passages],
            [q["question"] for q in questions], qrels)


def perspectrum_task() -> tuple[list[str], list[str], list[str], dict[str, set[str]]]:
    corpus = _jsonl(PERSPECTRUM / "corpus.jsonl")
    queries = _jsonl(PERSPECTRUM / "queries-dev.jsonl")
    return ([p["text"] for p in corpus], [p["id"] for p in corpus],
            [q["text"] for q in queries], {q["id"]: set(q["relevant"]) for q in queries})


def compare(cache_dir: Path | None = None) -> dict[str, Any]:
    """nDCG@10 of fp32 / int8 / int8-query on both sets, the mean cosine, and the decision."""
    from askcorpus.onnx_encoder import default_cache_dir, load_onnx_encoder

    cache_dir = cache_dir or default_cache_dir()
    fp32 = load_onnx_encoder(cache_dir=cache_dir, threads=2)
    int8 = load_onnx_encoder(cache_dir=cache_dir, quantized=True, threads=2)
    out: dict[str, Any] = {}
    for name, task in (("seeds", seed_task), ("perspectrum_dev", perspectrum_task)):
        texts, ids, questions, qrels = task()
        qids = list(qrels)  # in the order of ``questions``
        started = time.perf_counter()
        p32, q32 = fp32.encode(texts), fp32.encode(questions)
        p8, q8 = int8.encode(texts), int8.encode(questions)
        scores = {label: ndcg_at_10(qrels, dict(zip(qids, _rank(p, q, ids), strict=True)))
                  for label, p, q in (("fp32", p32, q32), ("int8", p8, q8),
                                      ("int8_query", p32, q8))}
        out[name] = {**scores, "passages": len(texts), "queries": len(qids),
                     "cosine_int8_vs_fp32_mean": float((p8 * p32).sum(1).mean()),
                     "cosine_int8_vs_fp32_min": float((p8 * p32).sum(1).min()),
                     "seconds": time.perf_counter() - started}
        print(json.dumps({name: out[name]}), file=sys.stderr)
    loss = max(out[s]["fp32"] - min(out[s]["int8"], out[s]["int8_query"]) for s in out)
    out["max_loss"] = loss
    out["use_int8"] = bool(loss <= MAX_LOSS)
    return out


def main() -> None:
    result = compare()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
