"""Web UI latency: click-to-rendered-answer time in headless Chromium, and the server's peak RSS.

Starts a real ``askcorpus serve`` on 127.0.0.1 (a free port), opens it in headless Chromium,
asks N questions by typing and clicking Ask (each timed from the click until the answer for
that question is in the DOM), and samples the server's resident memory (with its children)
all along. Prints the median, p90, min and max latency and the RSS figures.

    python benchmarks/ui_latency.py                     # 20 asks on seeds/, temporary index
    python benchmarks/ui_latency.py --asks 50 --index index
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Consecutive questions differ, so "the answer to this question is shown" is unambiguous.
QUESTIONS = [
    "Is the fighting happening on Armenian territory?",
    "How many soldiers does Armenia say have been killed?",
    "Did Armenian forces commit war crimes?",
    "What did Yuri Kim tell the Senate?",
    "What is the best recipe for banana bread?",
    "How many people have been killed in the fighting?",
    "What does Azerbaijan say about civilian casualties?",
]
RENDERED = (
    "q => { const e = document.querySelector('#ac-answer .ac-question bdi');"
    " return e !== null && e.textContent === q; }"
)


class RssSampler(threading.Thread):
    """Samples the resident memory of a process and its children until stopped."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process, self.every = psutil.Process(pid), every
        self.peak = 0
        self._stop_event = threading.Event()

    def current(self) -> int:
        try:
            procs = [self.process, *self.process.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs if p.is_running())
        except psutil.NoSuchProcess:
            return 0

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def high_water_mark(self) -> int | None:
        """The kernel's own peak RSS of the server process (VmHWM), where /proc has it."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(corpus: Path, index: Path, port: int, log: Path) -> subprocess.Popen:
    exe = shutil.which("askcorpus")
    cli = [exe] if exe else [sys.executable, "-m", "askcorpus.cli"]
    cmd = [*cli, "serve", "--corpus", str(corpus), "--index", str(index), "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return time.monotonic() - started
        time.sleep(0.2)
    sys.exit(f"server did not listen on port {port} within {timeout:.0f} s")


def measure(url: str, asks: int) -> list[float]:
    """Seconds from clicking Ask to the answer being in the DOM, for each ask."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        for i in range(asks + 1):  # the first ask warms the page and is not counted
            question = QUESTIONS[i % len(QUESTIONS)]
            page.fill("#ac-question textarea", question)
            started = time.perf_counter()
            page.click("#ac-ask")
            page.wait_for_function(RENDERED, arg=question, timeout=120_000)
            if i:
                timings.append(time.perf_counter() - started)
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "seeds"))
    parser.add_argument("--index", default=None, help="default: a temporary index, built once")
    parser.add_argument("--asks", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="askcorpus-bench-") as tmp:
        index = Path(args.index) if args.index else Path(tmp) / "index"
        port, log = free_port(), Path(tmp) / "server.log"
        proc = start_server(Path(args.corpus), index, port, log)
        try:
            startup = wait_for_port(port, proc, 600, log)
            sampler = RssSampler(proc.pid)
            idle = sampler.current()
            sampler.start()
            timings = measure(f"http://127.0.0.1:{port}/", args.asks)
            sampler.stop()
            hwm = sampler.high_water_mark()
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    ms = sorted(t * 1000 for t in timings)
    print(f"server ready after {startup:.1f} s (includes building the index if it was missing)")
    print(
        f"click-to-rendered answer over {len(ms)} asks: median {statistics.median(ms):.0f} ms, "
        f"p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
    )
    print(
        f"server RSS: {idle / 2**20:.0f} MiB when ready, peak {sampler.peak / 2**20:.0f} MiB "
        f"while answering" + (f", VmHWM {hwm / 2**20:.0f} MiB" if hwm else "")
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
