"""Metrics: pure functions that score rankings, flags and sides (ir-measures underneath)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

K = 10
STANCES = ("SUPPORT", "UNDERMINE")


@dataclass(frozen=True)
class Gold:
    """One gold evidence quote located in its document."""

    item: str
    doc: str
    start: int
    end: int
    quote: str

def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end

def credit(ranking: Sequence[tuple[str, int, int]],
           gold: Sequence[Gold]) -> list[tuple[str, ...]]:
    """Each ranked span → the gold items it overlaps that no earlier span found (maybe none).

    A passage that holds two gold quotes finds both: the issue's rule is that a quote counts as
    found when a returned citation overlaps it.
    """
    taken: set[str] = set()
    out: list[tuple[str, ...]] = []
    for doc, start, end in ranking:
        hits = tuple(g.item for g in gold if g.item not in taken and g.doc == doc
                     and overlaps(start, end, g.start, g.end))
        taken.update(hits)
        out.append(hits)
    return out

def ir_scores(qrels: dict[str, Sequence[str]], run: Sequence[tuple[str, str, float]],
              measures: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-query values of ``measures`` (name -> ir-measures measure), binary relevance.

    ``run`` holds (query, item, score) rows; a query with no row scores 0 on every measure.
    """
    import ir_measures

    out = {q: dict.fromkeys(measures, 0.0) for q in qrels}
    qrel_rows = [ir_measures.Qrel(q, item, 1) for q, items in qrels.items() for item in items]
    rows = [ir_measures.ScoredDoc(q, item, score) for q, item, score in run if q in qrels]
    names = {str(m): name for name, m in measures.items()}
    if rows and qrel_rows:
        for m in ir_measures.iter_calc(list(measures.values()), qrel_rows, rows):
            out[m.query_id][names[str(m.measure)]] = float(m.value)
    return out

def ranking_metrics(qrels: dict[str, Sequence[str]],
                    credited: dict[str, Sequence[Sequence[str]]],
                    k: int = K) -> dict[str, dict[str, float]]:
    """hit@5, R@1/5/10, MRR@10 and nDCG@10 per query (binary relevance).

    ``qrels`` maps a query to its relevant item ids, ``credited`` to its ranking where each
    entry holds the relevant items a result found (see ``credit``). Recall@n is ir-measures'
    recall of the set of items found by the first n results, so one passage can find two
    quotes; MRR and nDCG count each result once, under the first item it found, so a result
    never gains more than one rank's worth. hit@5 is 1 where the first five results find
    any gold item. Queries without results score 0.
    """
    from ir_measures import RR, R, nDCG

    out = ir_scores(qrels, [
        (q, items[0] if items else f"{q}-n{rank}", float(len(ranking) - rank))
        for q, ranking in credited.items() for rank, items in enumerate(ranking[:k])],
        {"MRR@10": RR @ k, "nDCG@10": nDCG @ k})
    for n in (1, 5, 10):
        recall = ir_scores(qrels, [(q, item, 1.0) for q, ranking in credited.items()
                                   for items in ranking[:n] for item in items],
                           {f"R@{n}": R @ 1_000_000})
        for q, values in recall.items():
            out[q].update(values)
    for v in out.values():
        v["hit@5"] = float(v["R@5"] > 0)
    return {q: {m: v[m] for m in ("hit@5", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10")}
            for q, v in out.items()}

def claim_metrics(queries: Sequence[dict[str, Any]], rankings: dict[str, Sequence[str]],
                  k: int = K) -> dict[str, Any]:
    """R@10, nDCG@10, MRR@10 (binary qrels) and both-sides@10 over Perspectrum-style claims."""
    from ir_measures import RR, R, nDCG

    measures = {"R@10": R @ k, "nDCG@10": nDCG @ k, "MRR@10": RR @ k}
    per_query = ir_scores({q["id"]: list(q["relevant"]) for q in queries},
                          [(q["id"], doc, float(k - rank)) for q in queries
                           for rank, doc in enumerate(rankings.get(q["id"], [])[:k])], measures)
    out: dict[str, Any] = {name: float(np.mean([per_query[q][name] for q in per_query]))
                           for name in measures}
    both = {q["id"]: both_sides(q["relevant"], rankings.get(q["id"], []), k) for q in queries}
    flags = [f for f in both.values() if f is not None]
    out["both_sides@10"] = float(np.mean(flags)) if flags else None
    out.update(n=len(queries), n_both=len(flags))
    out["per_query"] = {q: {**per_query[q], "both_sides": both[q]} for q in per_query}
    return out

def both_sides(relevant: dict[str, str], ranked: Sequence[str], k: int = K) -> bool | None:
    """Top ``k`` holds a relevant SUPPORT and a relevant UNDERMINE; None without both in gold."""
    if not set(STANCES) <= set(relevant.values()):
        return None
    found = {relevant.get(doc) for doc in ranked[:k]}
    return all(s in found for s in STANCES)

def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """Claims where ``a`` beats / loses to ``b`` (nDCG@10, and both-sides@10 flips)."""
    pa, pb = a["per_query"], b["per_query"]
    return {"ndcg_wins": sum(pa[q]["nDCG@10"] > pb[q]["nDCG@10"] for q in pa),
            "ndcg_losses": sum(pa[q]["nDCG@10"] < pb[q]["nDCG@10"] for q in pa),
            "both_sides_gained": sum(bool(pa[q]["both_sides"]) and pb[q]["both_sides"] is False
                                     for q in pa),
            "both_sides_lost": sum(pa[q]["both_sides"] is False and bool(pb[q]["both_sides"])
                                   for q in pa)}

def side_recall(gold: Iterable[str], predicted: Iterable[str]) -> float:
    gold = set(gold)
    return len(gold & set(predicted)) / len(gold) if gold else 1.0

def flag_prf(gold: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recall and F1 of a binary flag; None where undefined (0/0)."""
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    pos, rel = sum(predicted), sum(gold)
    precision = tp / pos if pos else None
    recall = tp / rel if rel else None
    f1 = (2 * precision * recall / (precision + recall) if precision and recall else
          (0.0 if precision is not None and recall is not None else None))
    return {"precision": precision, "recall": recall, "f1": f1}

def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None
