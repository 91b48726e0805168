"""Synthetic scale series: exact FAISS scan vs the index ``askcorpus.ann`` chooses, 10k to 1M.

Vectors: the 11,112 Perspectrum passages encoded with the real model (ONNX; cached in
``~/.cache/askcorpus/bench``). Sizes up to that are real sentences; larger ones add mixtures of
two random real vectors (weight 0.5-0.9 on the first) plus Gaussian noise, renormalised, so
the set keeps the clustered shape of real embeddings (each real sentence gets a cloud of
near-paraphrases around it, which is harder for a graph index than uniform noise).
Queries: real claims encoded with the same model; the ``train`` claims tune HNSW's efSearch,
the ``dev`` claims are the ones measured (never the same questions).

Each row: build time, index memory, p50/p95 single-query search latency (one query at a time,
FAISS on ``--threads`` threads), recall@10 vs the exact scan.

    python benchmarks/scale.py --sizes 10000 100000          # quick
    python benchmarks/scale.py                               # 10k, 100k, 1M
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus import ann

ROOT = Path(__file__).resolve().parents[1]
PERSPECTRUM = ROOT.parent / "shared" / "perspectrum"
CACHE = Path.home() / ".cache" / "askcorpus" / "bench"
SIZES = (10_000, 100_000, 1_000_000)
K = 10
SEED = 14


def _read_texts(path: Path, field: str = "text") -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)[field] for line in handle if line.strip()]


def real_vectors(perspectrum: Path = PERSPECTRUM, cache: Path = CACHE
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(passages, tuning queries, measured queries) as unit float32 rows, cached on disk."""
    from askcorpus.onnx_encoder import default_cache_dir, load_onnx_encoder

    files = [perspectrum / f for f in ("corpus.jsonl", "queries-train.jsonl",
                                       "queries-dev.jsonl")]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    target = cache / f"perspectrum-{digest}.npz"
    if target.is_file():
        data = np.load(target)
        return data["passages"], data["tune"], data["measure"]
    encoder = load_onnx_encoder(cache_dir=default_cache_dir(), threads=2)
    passages, tune, measure = (encoder.encode(_read_texts(f)) for f in files)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npz")
    np.savez(tmp, passages=passages, tune=tune, measure=measure)
    tmp.replace(target)
    return passages, tune, measure


def synthetic(base: np.ndarray, size: int, *, seed: int = SEED, noise: float = 0.3
              ) -> np.ndarray:
    """``size`` unit vectors: ``base`` itself, then noisy mixtures of two base rows."""
    if size <= len(base):
        return np.ascontiguousarray(base[:size])
    rng = np.random.default_rng(seed)
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    out[:len(base)] = base
    chunk = 100_000
    for start in range(len(base), size, chunk):
        n = min(chunk, size - start)
        a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
        w = rng.uniform(0.5, 0.9, (n, 1)).astype(np.float32)
        mix = w * base[a] + (1 - w) * base[b]
        mix += rng.normal(0, noise / np.sqrt(base.shape[1]), mix.shape).astype(np.float32)
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        out[start:start + n] = mix
    return out


def timed_search(index: Any, queries: np.ndarray, k: int = K) -> list[float]:
    """Milliseconds per search, one query at a time (what a user waits for)."""
    out = []
    for row in np.ascontiguousarray(queries, dtype=np.float32):
        start = time.perf_counter()
        index.search(row.reshape(1, -1), k)
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(vectors: np.ndarray, tune: np.ndarray, queries: np.ndarray, *,
            params: ann.AnnParams | None = None) -> dict[str, Any]:
    """Build one index over ``vectors`` and measure it against the exact scan."""
    return measured(vectors, tune, queries, params=params)[2]


def measured(vectors: np.ndarray, tune: np.ndarray, queries: np.ndarray, *,
             params: ann.AnnParams | None = None, truth: np.ndarray | None = None
             ) -> tuple[Any, ann.AnnParams, dict[str, Any]]:
    """``measure``, also returning the index and its parameters (for more searches on it);
    ``truth`` (the exact top ``K`` of ``queries``) saves recomputing the exact scan."""
    start = time.perf_counter()
    index, chosen = ann.build_ann(vectors, queries=tune, params=params)
    build_s = time.perf_counter() - start
    if truth is None:
        truth = ann.exact_neighbours(vectors, queries, K)
    timed_search(index, queries[:10])  # warm caches
    latencies = timed_search(index, queries)
    found = index.search(np.ascontiguousarray(queries), K)[1]
    return index, chosen, {
        "size": len(vectors), "kind": chosen.kind, "params": chosen.to_dict(),
        "build_s": build_s, "memory_mb": ann.index_bytes(index) / 2**20,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "recall_at_10": ann.recall_at_k(found, truth, K)}


def series(sizes: tuple[int, ...] = SIZES, *, threads: int = 1) -> list[dict[str, Any]]:
    """For each size: the exact scan and the size-chosen index (when it is not the scan)."""
    import faiss

    faiss.omp_set_num_threads(threads)
    base, tune, queries = real_vectors()
    out = []
    for size in sizes:
        vectors = synthetic(base, size)
        flat = measure(vectors, tune, queries, params=ann.AnnParams("flat", size,
                                                                    vectors.shape[1]))
        out.append({**flat, "index": "flat (exact)"})
        chosen = ann.choose_params(size, vectors.shape[1])
        if chosen.kind != "flat":
            row = measure(vectors, tune, queries, params=chosen)
            out.append({**row, "index": f"chosen: {label(row)}"})
        else:
            out.append({**flat, "index": "chosen: flat (exact)"})
        print(json.dumps(out[-2:]), file=sys.stderr)
        del vectors
    return out


def label(row: dict[str, Any]) -> str:
    """How a measured row names its index, e.g. ``hnsw (M=16, efSearch=96)``."""
    if row["kind"] == "flat":
        return "flat (exact)"
    return f"{row['kind']} (M={row['params']['m']}, efSearch={row['params']['ef_search']})"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| passages | index | build s | memory MB | p50 ms | p95 ms | recall@10 vs exact |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['size']:,} | {r['index']} | {r['build_s']:.1f} | {r['memory_mb']:.0f} | "
              f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['recall_at_10']:.3f} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--threads", type=int, default=1, help="FAISS OpenMP threads")
    args = parser.parse_args()
    print(markdown(series(tuple(args.sizes), threads=args.threads)))


if __name__ == "__main__":
    main()
