"""Load test of `askcorpus serve` (RELIABILITY.md T47), with bare apps as baselines.

Starts a real ``askcorpus serve`` on 127.0.0.1 (a free port), sends N requests at a fixed
concurrency through the two-step ``/gradio_api/call/ask`` API (POST, then GET the event
stream) for several rounds, and reports throughput, p50/p95/p99 latency, errors, rejected
requests (queue full or busy, counted apart from errors) and the server's RSS after each
round. A second ``askcorpus serve`` gets the same load through its JSON API (one
``POST /api/ask``). The same measurement of the servers of ``benchmarks/apps.py`` (same launch
options: a no-op Gradio handler and a no-op JSON route, the baselines; an encode + FAISS search
handler, bare and inside the askcorpus UI over both routes, the floors of answering; the
askcorpus app at another concurrency) runs in the same invocation, round by round. Every
request has a timeout and every round a wall-time cap, so the run always ends. Only loopback
targets are used.

    python benchmarks/load.py                      # 300 requests x 3 rounds, concurrency 8
    python benchmarks/load.py --json figures.json  # also write every round's figures
    python benchmarks/load.py --requests 40 --rounds 2 --model hash:64 --no-baseline
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, by construction
NOOP_GRADIO = "no-op Gradio app (baseline)"
NOOP_JSON = "no-op JSON route, same framework (baseline)"
QUESTIONS = (
    "How many soldiers does Armenia say have been killed?",
    "Is the fighting happening on Armenian territory?",
    "Did Armenian forces commit war crimes?",
    "What did Yuri Kim tell the Senate?",
    "What is the capital of Australia?",
    "Who says the river dam cut the water of the farms?",
    "What did the council demand?",
    "Were civilians attacked?",
)


@dataclass
class Round:
    """One round of requests against one server."""

    number: int
    requests: int
    seconds: float
    ok: int
    errors: int
    rejected: int
    timeouts: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput_rps: float
    rss_mb: float
    error_samples: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/gradio_api/info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def rss_mb(proc: subprocess.Popen) -> float:
    """Resident memory of the server process and its children, in MB."""
    try:
        root = psutil.Process(proc.pid)
        procs = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running()) / 1e6
    except psutil.Error:
        return float("nan")


def one_request(client: httpx.Client, url: str, question: str,
                route: str = "gradio") -> tuple[str, float, str]:
    """(outcome, seconds, detail): outcome is ok, rejected, error or timeout."""
    if route == "json":
        return json_request(client, url, question)
    started = time.perf_counter()
    try:
        response = client.post(f"{url}/gradio_api/call/ask",
                               json={"data": [question, 5, None]})
        if response.status_code == 503 and "Queue is full" in response.text:
            return "rejected", time.perf_counter() - started, ""
        if response.status_code != 200:
            return "error", time.perf_counter() - started, f"POST {response.status_code}"
        event_id = response.json()["event_id"]
        body = client.get(f"{url}/gradio_api/call/ask/{event_id}").text
        elapsed = time.perf_counter() - started
        if "event: complete" in body:
            return "ok", elapsed, ""
        return "error", elapsed, body[:200]
    except httpx.TimeoutException:
        return "timeout", time.perf_counter() - started, "timeout"
    except httpx.HTTPError as exc:
        return "error", time.perf_counter() - started, repr(exc)[:200]


def json_request(client: httpx.Client, url: str, question: str) -> tuple[str, float, str]:
    """One ``POST /api/ask`` of askcorpus's JSON API: the answer in the response itself."""
    started = time.perf_counter()
    try:
        response = client.post(f"{url}/api/ask", json={"question": question, "k": 5})
        elapsed = time.perf_counter() - started
        if response.status_code == 503:
            return "rejected", elapsed, ""
        if response.status_code == 200 and '"status": "' in response.text:
            return "ok", elapsed, ""
        return "error", elapsed, f"{response.status_code} {response.text[:200]}"
    except httpx.TimeoutException:
        return "timeout", time.perf_counter() - started, "timeout"
    except httpx.HTTPError as exc:
        return "error", time.perf_counter() - started, repr(exc)[:200]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_round(number: int, url: str, proc: subprocess.Popen, *, requests: int,
              concurrency: int, timeout: float, wall: float, route: str = "gradio") -> Round:
    results: list[tuple[str, float, str]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + wall
    limits = httpx.Limits(max_connections=concurrency * 2)

    def worker(i: int) -> None:
        if time.monotonic() > deadline:
            outcome = ("timeout", 0.0, "round wall time exceeded")
        else:
            outcome = one_request(client, url, QUESTIONS[i % len(QUESTIONS)], route)
        with lock:
            results.append(outcome)

    started = time.perf_counter()
    with httpx.Client(timeout=timeout, limits=limits) as client, \
            ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(requests)))
    seconds = time.perf_counter() - started
    latencies = [t for outcome, t, _ in results if outcome == "ok"]
    ok = len(latencies)
    return Round(
        number=number, requests=requests, seconds=round(seconds, 2), ok=ok,
        errors=sum(o == "error" for o, _, _ in results),
        rejected=sum(o == "rejected" for o, _, _ in results),
        timeouts=sum(o == "timeout" for o, _, _ in results),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 1),
        p95_ms=round(percentile(latencies, 0.95) * 1000, 1),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 1),
        throughput_rps=round(ok / seconds, 2) if seconds else 0.0,
        rss_mb=round(rss_mb(proc), 1),
        error_samples=[d for o, _, d in results if o in ("error", "timeout")][:3],
    )


@dataclass
class Server:
    """One server under test, started before the rounds and stopped after them."""

    name: str
    cmd: list[str]
    port: int
    route: str = "gradio"  # the Gradio two-step API, or "json": askcorpus's POST /api/ask
    proc: subprocess.Popen | None = None
    warm_rss: float = float("nan")
    rounds: list[Round] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def start(server: Server, args: argparse.Namespace, workdir: Path) -> None:
    log = workdir / f"{server.port}.log"
    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (src, os.environ.get(
        "PYTHONPATH")))), "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
        "GRADIO_TEMP_DIR": str(workdir / f"{server.port}-tmp")}
    with log.open("wb") as out:
        server.proc = subprocess.Popen(server.cmd, stdout=out, stderr=subprocess.STDOUT,
                                       cwd=ROOT, env=env)
    wait_ready(server.url, server.proc, args.startup_timeout, log)
    # Warm-up, not measured. Gradio keeps per-session state for the last
    # state_session_capacity (1000) sessions and every /call request is a new session, so
    # RSS only settles after about 1000 requests: use --warmup 1000 to measure leaks.
    run_round(0, server.url, server.proc, requests=max(args.warmup, 1),
              concurrency=args.concurrency, timeout=args.timeout, wall=args.round_wall,
              route=server.route)
    server.warm_rss = round(rss_mb(server.proc), 1)


def stop(server: Server) -> None:
    if server.proc is None:
        return
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def measure(servers: list[Server], args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Every server's rounds, interleaved (round 1 of each, then round 2 of each...), so that
    the load of this shared machine changes the figures of all of them alike."""
    try:
        for server in servers:
            start(server, args, workdir)
        for number in range(1, args.rounds + 1):
            for server in servers:
                assert server.proc is not None
                server.rounds.append(run_round(
                    number, server.url, server.proc, requests=args.requests,
                    concurrency=args.concurrency, timeout=args.timeout, wall=args.round_wall,
                    route=server.route))
    finally:
        for server in servers:
            stop(server)
    return [_figures(server) for server in servers]


def _figures(server: Server) -> dict:
    rounds, warm_rss = server.rounds, server.warm_rss
    return {"name": server.name, "warm_rss_mb": warm_rss, "rounds": [asdict(r) for r in rounds],
            "rss_growth_mb": round(rounds[-1].rss_mb - warm_rss, 1) if rounds else None,
            "rss_growth_after_round1_mb": round(rounds[-1].rss_mb - rounds[0].rss_mb, 1)
            if rounds else None,
            # The leak criterion: growth from the end of round 2 to the end of round 3.
            "rss_growth_round2_to_3_mb": round(rounds[2].rss_mb - rounds[1].rss_mb, 1)
            if len(rounds) >= 3 else None}


def ratios(results: list[dict], baseline: dict) -> None:
    """Each server's rate over the baseline's in the same round, and its range over rounds."""
    print(f"\nrate over {baseline['name']}, round by round:")
    for result in results:
        if result is baseline:
            continue
        pairs = [r["throughput_rps"] / b["throughput_rps"] if b["throughput_rps"] else
                 float("nan") for r, b in zip(result["rounds"], baseline["rounds"], strict=True)]
        rates = [r["throughput_rps"] for r in result["rounds"]]
        print(f"  {result['name']:48} {min(rates):6.1f}-{max(rates):6.1f} req/s  "
              f"{' '.join(f'{x:.2f}x' for x in pairs)}")


def report(result: dict) -> None:
    print(f"\n== {result['name']} (RSS after warm-up {result['warm_rss_mb']} MB)")
    print(f"{'round':>5} {'req':>5} {'ok':>5} {'err':>4} {'rej':>4} {'t/o':>4} {'rps':>7} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'RSS MB':>8}")
    for r in result["rounds"]:
        print(f"{r['number']:>5} {r['requests']:>5} {r['ok']:>5} {r['errors']:>4} "
              f"{r['rejected']:>4} {r['timeouts']:>4} {r['throughput_rps']:>7} "
              f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['rss_mb']:>8}")
        for sample in r["error_samples"]:
            print(f"      error: {sample}")
    print(f"RSS growth after warm-up: {result['rss_growth_mb']} MB; from the end of round 1 "
          f"to the end: {result['rss_growth_after_round1_mb']} MB; from round 2 to round 3: "
          f"{result['rss_growth_round2_to_3_mb']} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=8,
                        help="unmeasured requests first (1000 fills Gradio's session store)")
    parser.add_argument("--corpus", default=str(ROOT / "seeds"))
    parser.add_argument("--index", default=None, help="index folder (default: a fresh temp one)")
    parser.add_argument("--model", default=None, help="build model (default: the packaged one)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--round-wall", type=float, default=900.0, help="seconds per round")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument("--no-baseline", action="store_true",
                        help="only askcorpus serve (its Gradio and JSON APIs): no other app")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="askcorpus-load-"))
    try:
        index = Path(args.index) if args.index else workdir / "index"
        if not (index / "CURRENT").exists():
            build = [sys.executable, "-m", "askcorpus.cli", "build", "--corpus", args.corpus,
                     "--index", str(index)] + (["--model", args.model] if args.model else [])
            subprocess.run(build, check=True, cwd=ROOT, capture_output=True, timeout=900,
                           env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        sys.path.insert(0, str(ROOT / "src"))  # the askcorpus the servers run (PYTHONPATH)
        from askcorpus.ui import ENGINE_CONCURRENCY

        app = [sys.executable, str(ROOT / "benchmarks" / "apps.py")]
        serve = [sys.executable, "-m", "askcorpus.cli", "serve", "--corpus", args.corpus,
                 "--index", str(index)]
        servers = [Server(f"askcorpus serve, Gradio API (concurrency {ENGINE_CONCURRENCY})",
                          serve, free_port()),
                   Server("askcorpus serve, JSON API POST /api/ask", list(serve), free_port(),
                          route="json")]
        other = 2 if ENGINE_CONCURRENCY == 1 else 1
        search_ui = [*app, "search-ui", "--index", str(index), "--corpus", args.corpus]
        if not args.no_baseline:
            servers += [
                Server(f"askcorpus app, Gradio API, concurrency {other}", [
                    *app, "askcorpus", "--index", str(index), "--corpus", args.corpus,
                    "--concurrency", str(other)], free_port()),
                Server("floor: askcorpus UI, ask = encode + FAISS search", search_ui,
                       free_port()),
                Server("floor: JSON API, ask = encode + FAISS search", list(search_ui),
                       free_port(), route="json"),
                Server("floor: bare app, ask = encode + FAISS search",
                       [*app, "search", "--index", str(index)], free_port()),
                Server(NOOP_GRADIO, [*app, "noop"], free_port()),
                Server(NOOP_JSON, [*app, "noop-json"], free_port(), route="json")]
        for server in servers:
            server.cmd += ["--host", HOST, "--port", str(server.port)]
        results = measure(servers, args, workdir)
        print(f"{args.requests} requests x {args.rounds} rounds at concurrency "
              f"{args.concurrency} after {args.warmup} warm-up requests, {os.cpu_count()} CPUs, "
              f"loopback {HOST}")
        for result in results:
            report(result)
        named = {result["name"]: result for result in results}
        routes = {server.name: server.route for server in servers}
        if NOOP_GRADIO in named:  # the baseline, for every server
            ratios(results, named[NOOP_GRADIO])
        if NOOP_JSON in named:  # the JSON route's own framework cost
            ratios([r for r in results if routes[r["name"]] == "json"], named[NOOP_JSON])
        ratios(results[:2], results[0])  # the JSON API over the Gradio API, same server
        if len(results) > 2:
            ratios([results[0], results[2]], results[0])  # the other concurrency
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        bad = sum(r["errors"] + r["timeouts"] for res in results for r in res["rounds"])
        return 1 if bad else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
