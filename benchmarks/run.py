"""One command for the benchmark suite: writes BENCHMARKS.md, each figure next to its floor.

Every benchmark is a function returning a ``Result``: rows of (measure, value, floor, floor
value), each floor measured in the same run, plus optional detail tables. Add one by writing a
function and listing it in ``BENCHMARKS`` (server req/s vs the no-op app: see load.py).

    python benchmarks/run.py                         # everything, scale series 10k/100k/1M
    python benchmarks/run.py --only cold warm --sizes 10000 100000 --out /tmp/B.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quantization  # noqa: E402
import scale  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One figure and the floor it is judged against (``ratio`` = value / floor)."""

    measure: str
    value: float
    unit: str
    floor: str = ""
    floor_value: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor_value if self.floor_value else None


@dataclass
class Result:
    rows: list[Row]
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...]
    repeats: int
    cache_dir: Path


def _fresh(code: str, repeats: int) -> float:
    """Median wall seconds of ``python -c code`` in fresh processes (PYTHONPATH=src)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_start(opts: Options) -> Result:
    """A fresh process that encodes one question: ONNX vs sentence-transformers vs numpy."""
    from askcorpus.onnx_encoder import export_onnx

    export_onnx(cache_dir=opts.cache_dir)  # the export is a build step, not timed here
    question = "['Who closed the Lachin corridor?']"
    numpy_s = _fresh("import numpy", opts.repeats)
    onnx_s = _fresh("from pathlib import Path\n"
                    "from askcorpus.onnx_encoder import load_onnx_encoder\n"
                    f"load_onnx_encoder(cache_dir=Path({str(opts.cache_dir)!r}), "
                    f"export=False).encode({question})", opts.repeats)
    torch_s = _fresh("from askcorpus.embedding import SentenceEncoder\n"
                     f"SentenceEncoder('all-MiniLM-L6-v2').encode({question})", opts.repeats)
    return Result([
        Row("cold start: ONNX encoder + 1 query", onnx_s, "s", "python -c 'import numpy'",
            numpy_s),
        Row("cold start: ONNX encoder + 1 query", onnx_s, "s",
            "sentence-transformers load + 1 query", torch_s, "issue target ≤ 0.35×"),
        Row("cold start: sentence-transformers load + 1 query", torch_s, "s",
            "python -c 'import numpy'", numpy_s)])


def _questions() -> list[str]:
    rows = quantization._jsonl(ROOT / "eval" / "questions.jsonl")
    return [r["question"] for r in rows]


def _interleaved(encoders: dict[str, Callable[[list[str]], object]],
                 texts: list[str]) -> dict[str, list[float]]:
    """Milliseconds per one-text encode; encoders take turns on each text, so load from other
    processes on a shared machine falls on all of them alike."""
    for text in texts[:5]:
        for encode in encoders.values():
            encode([text])
    out: dict[str, list[float]] = {name: [] for name in encoders}
    for text in texts:
        for name, encode in encoders.items():
            start = time.perf_counter()
            encode([text])
            out[name].append((time.perf_counter() - start) * 1000)
    return out


def warm_encode(opts: Options) -> Result:
    """One question at a time in a warm process: ONNX (1 and 2 threads) vs PyTorch."""
    from askcorpus.embedding import load_encoder
    from askcorpus.onnx_encoder import load_onnx_encoder

    questions = _questions()
    ms = _interleaved({"torch": load_encoder("all-MiniLM-L6-v2").encode, **{
        str(t): load_onnx_encoder(cache_dir=opts.cache_dir, threads=t).encode for t in (1, 2)}},
        questions)
    return Result([Row(f"warm query encode p{q}: ONNX, {t} thread(s)",
                       float(np.percentile(ms[str(t)], q)), "ms", f"PyTorch p{q}",
                       float(np.percentile(ms["torch"], q)), f"{len(questions)} seed questions")
                   for t in (1, 2) for q in (50, 95)])


def throughput(opts: Options) -> Result:
    """Passages per second, batches of 32: ONNX (2 threads) vs PyTorch."""
    from askcorpus.embedding import load_encoder
    from askcorpus.onnx_encoder import load_onnx_encoder

    texts = [r["text"] for r in quantization._jsonl(quantization.PERSPECTRUM / "corpus.jsonl")]
    texts = texts[:1024]
    encoders = {"torch": load_encoder("all-MiniLM-L6-v2"),
                "onnx": load_onnx_encoder(cache_dir=opts.cache_dir, threads=2)}
    seconds = dict.fromkeys(encoders, 0.0)
    for start in range(0, len(texts), 128):  # alternate chunks, as in warm_encode
        for name, encoder in encoders.items():
            began = time.perf_counter()
            encoder.encode(texts[start:start + 128])
            seconds[name] += time.perf_counter() - began
    rates = {name: len(texts) / s for name, s in seconds.items()}
    return Result([Row("encode throughput: ONNX fp32, 2 threads", rates["onnx"], "passages/s",
                       "PyTorch (sentence-transformers)", rates["torch"],
                       f"{len(texts)} Perspectrum passages")])


_SEED_INDEX: dict[str, Path] = {}


def _seed_index(opts: Options) -> Path:
    """The seed corpus indexed once per run (real model) in a scratch folder."""
    if "path" not in _SEED_INDEX:
        import tempfile

        import askcorpus

        folder = Path(tempfile.mkdtemp(prefix="askcorpus-bench-")) / "index"
        askcorpus.build(ROOT / "seeds", folder)
        _SEED_INDEX["path"] = folder
    return _SEED_INDEX["path"]


def warm_query(opts: Options) -> Result:
    """Warm ``Index.search`` and ``Index.ask`` vs their floor: one query encode (the index's
    own encoder, ONNX) + one FAISS search of the same index; interleaved per question."""
    from dataclasses import replace

    import askcorpus

    index = askcorpus.open(_seed_index(opts), check_stale=False)
    rules = index.with_settings(replace(index.settings, judge="rules"))
    encoder, dense = index.encoder(), index.retriever.dense
    questions = _questions()
    ms = _interleaved({
        "floor": lambda qs: dense.search(encoder.encode(qs)[0], 10),
        "search": lambda qs: index.search(qs[0], k=10),
        "ask": lambda qs: index.ask(qs[0], k=5),
        "ask_rules": lambda qs: rules.ask(qs[0], k=5)}, questions)
    floor = float(np.percentile(ms["floor"], 50))
    note = f"{len(questions)} seed questions, {len(index.passages())} passages"
    return Result([
        Row("warm Index.search p50 (hybrid, k=10)", float(np.percentile(ms["search"], 50)),
            "ms", "encode + FAISS search p50", floor, "issue target ≤ 1.1×; " + note),
        Row("warm Index.ask p50 (rules judge)", float(np.percentile(ms["ask_rules"], 50)), "ms",
            "encode + FAISS search p50", floor, "issue target ≤ 1.25× without reranker"),
        Row("warm Index.ask p50 (learned judge)", float(np.percentile(ms["ask"], 50)), "ms",
            "encode + FAISS search p50", floor, note),
        Row("warm Index.ask p95 (learned judge)", float(np.percentile(ms["ask"], 95)), "ms",
            "encode + FAISS search p95", float(np.percentile(ms["floor"], 95)), note)])


def _fresh_cli(args: list[str], repeats: int) -> float:
    """Median wall seconds of ``python -m askcorpus.cli ARGS`` in fresh processes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "askcorpus.cli", *args], check=True, env=env,
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_ask(opts: Options) -> Result:
    """``askcorpus ask`` in a fresh process vs importing sentence-transformers and loading the
    model (+ one query) in a fresh process: what every CLI question paid before ONNX."""
    index = _seed_index(opts)
    cli_s = _fresh_cli(["ask", "How many soldiers has Armenia lost?", "--index", str(index)],
                       opts.repeats)
    torch_s = _fresh("from askcorpus.embedding import SentenceEncoder\n"
                     "SentenceEncoder('all-MiniLM-L6-v2').encode(['Who closed the Lachin "
                     "corridor?'])", opts.repeats)
    numpy_s = _fresh("import numpy", opts.repeats)
    return Result([
        Row("cold `askcorpus ask` (ONNX query path)", cli_s, "s",
            "sentence-transformers import + model load + 1 query", torch_s,
            "issue target ≤ 0.35× and ≤ 2.0 s"),
        Row("cold `askcorpus ask` (ONNX query path)", cli_s, "s", "python -c 'import numpy'",
            numpy_s)])


def build_speed(opts: Options) -> Result:
    """A full build of the seeds vs raw encoding of the texts it embeds; an incremental
    rebuild after editing one document vs the full build."""
    import shutil
    import tempfile

    import askcorpus
    from askcorpus import building
    from askcorpus.corpus import load_corpus
    from askcorpus.embedding import load_encoder
    from askcorpus.segment import sentence_spans
    from askcorpus.settings import Settings

    scratch = Path(tempfile.mkdtemp(prefix="askcorpus-build-"))
    corpus = scratch / "seeds"
    shutil.copytree(ROOT / "seeds", corpus)
    settings = Settings()
    passages = building.split(load_corpus(corpus), settings)
    texts = [p.text for p in passages]
    sentences = [t[a:b] for t in texts if len(spans := sentence_spans(t)) > 1
                 for a, b in spans]
    encoder = load_encoder(settings.model, batch_size=settings.batch_size)
    encoder.encode(texts[:32])  # warm
    began = time.perf_counter()
    encoder.encode(texts)
    encode_s = time.perf_counter() - began
    began = time.perf_counter()
    encoder.encode(sentences)
    sentences_s = time.perf_counter() - began
    began = time.perf_counter()
    askcorpus.build(corpus, scratch / "index")
    full_s = time.perf_counter() - began
    edited = sorted(corpus.glob("*.txt"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nAn added closing line.\n",
                      encoding="utf-8")
    began = time.perf_counter()
    askcorpus.build(corpus, scratch / "index")
    incremental_s = time.perf_counter() - began
    shutil.rmtree(scratch, ignore_errors=True)
    n = len(texts)
    return Result([
        Row("build throughput (full build, seeds)", n / full_s, "passages/s",
            "raw encode of the passages", n / encode_s,
            f"{n} passages; the build also embeds {len(sentences)} sentences"),
        Row("build throughput (full build, seeds)", n / full_s, "passages/s",
            "raw encode of passages + sentences", n / (encode_s + sentences_s),
            "the texts the build encodes"),
        Row("incremental rebuild, 1 of 5 documents edited", incremental_s, "s",
            "full build", full_s, "only the edited document is re-embedded")])


def scale_series(opts: Options) -> Result:
    """Flat vs the size-chosen index at each size (see scale.py for the data)."""
    rows = scale.series(opts.sizes, threads=1)
    out = []
    for flat, chosen in zip(rows[::2], rows[1::2], strict=True):
        n = f"{flat['size']:,}"
        out.append(Row(f"search p50 @ {n}: {chosen['index'].removeprefix('chosen: ')}",
                       chosen["p50_ms"], "ms", "exact scan p50", flat["p50_ms"]))
        out.append(Row(f"recall@10 vs exact @ {n}", chosen["recall_at_10"], "",
                       "target", 0.95, "dev claims; efSearch tuned on train claims"))
        out.append(Row(f"index build @ {n}", chosen["build_s"], "s", "exact scan build",
                       flat["build_s"]))
        out.append(Row(f"index memory @ {n}", chosen["memory_mb"], "MB", "exact scan memory",
                       flat["memory_mb"]))
    return Result(out, ["### Scale series (FAISS on 1 thread)", "", scale.markdown(rows)])


def int8_quality(opts: Options) -> Result:
    """int8 dynamic quantization vs fp32: nDCG@10 of dense retrieval (slow: ~3 min)."""
    res = quantization.compare(opts.cache_dir)
    rows = [Row(f"nDCG@10 {name}: {label}", res[name][label], "", "fp32 ONNX",
                res[name]["fp32"]) for name in ("seeds", "perspectrum_dev")
            for label in ("int8", "int8_query")]
    verdict = (f"int8 loses up to {res['max_loss']:.4f} nDCG@10 (limit "
               f"{quantization.MAX_LOSS}): {'use int8' if res['use_int8'] else 'keep fp32'}.")
    return Result(rows, [verdict])


BENCHMARKS: dict[str, Callable[[Options], Result]] = {
    "query": warm_query,
    "cold_ask": cold_ask,
    "build": build_speed,
    "cold": cold_start,
    "warm": warm_encode,
    "throughput": throughput,
    "int8": int8_quality,
    "scale": scale_series,
}


def render(results: dict[str, Result], seconds: float) -> str:
    lines = ["# Benchmarks", "",
             f"Written by `python benchmarks/run.py` in {seconds:.0f} s on {platform.platform()}, "
             f"Python {platform.python_version()}, {os.cpu_count()} CPUs. Every floor was "
             "measured in the same run; ratio = value / floor.", "",
             "| benchmark | measure | value | floor | floor value | ratio | note |",
             "|---|---|---:|---|---:|---:|---|"]
    for name, result in results.items():
        for r in result.rows:
            ratio = f"{r.ratio:.2f}×" if r.ratio is not None else ""
            floor_value = f"{r.floor_value:.3g} {r.unit}" if r.floor_value is not None else ""
            lines.append(f"| {name} | {r.measure} | {r.value:.3g} {r.unit} | {r.floor} | "
                         f"{floor_value} | {ratio} | {r.note} |")
    for result in results.values():
        if result.details:
            lines += ["", *result.details]
    return "\n".join(lines) + "\n"


def main() -> None:
    from askcorpus.onnx_encoder import default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(scale.SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per cold start")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    opts = Options(tuple(args.sizes), args.repeats, default_cache_dir())
    started = time.perf_counter()
    results = {}
    for name in args.only:
        print(f"running {name}…", file=sys.stderr)
        results[name] = BENCHMARKS[name](opts)
        print(json.dumps([r.__dict__ for r in results[name].rows], default=str), file=sys.stderr)
    args.out.write_text(render(results, time.perf_counter() - started), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
