"""Helpers for the reliability matrix (tests/test_t_*.py): audit hooks, digests, live servers."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from conftest import FIXTURE_CATALOG, FIXTURE_FILES, HASH_MODEL, write_corpus
from ui_helpers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
GOLDEN_QUESTION = "Who says the river dam cut the water of the farms?"


# --------------------------------------------------------------------------- audit hook

class _Audit:
    """One process-wide audit hook (hooks cannot be removed); records only while armed."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.armed = False
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> None:
        if not self._installed:
            sys.addaudithook(self._hook)
            self._installed = True

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event == "open" and args:
            target = args[0]
            if isinstance(target, int):  # os.fdopen / open(fd): no new path is touched
                return
            with self._lock:
                self.events.append(("open", os.fsdecode(target)))
        elif event in ("socket.connect", "socket.getaddrinfo", "urllib.Request",
                       "http.client.connect", "subprocess.Popen", "os.system"):
            with self._lock:
                self.events.append((event, repr(args)[:200]))


AUDIT = _Audit()


@contextmanager
def audited() -> Iterator[list[tuple[str, str]]]:
    """Record file opens and network/process events made inside the block."""
    AUDIT.install()
    AUDIT.events.clear()
    AUDIT.armed = True
    try:
        yield AUDIT.events
    finally:
        AUDIT.armed = False


def opens_outside(events: list[tuple[str, str]], *allowed: Path) -> list[str]:
    """Opened paths that lie outside every ``allowed`` folder (resolved)."""
    roots = [Path(a).resolve() for a in allowed]
    bad = []
    for kind, target in events:
        if kind != "open":
            continue
        path = Path(target).resolve()
        if not any(path.is_relative_to(r) for r in roots):
            bad.append(str(path))
    return bad


# --------------------------------------------------------------------------- index helpers

def tree_digest(folder: Path) -> str:
    """SHA-256 over every file's relative path and bytes (the lock file excluded)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.name == ".lock":
            continue
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def answer_json(index: Any, question: str = GOLDEN_QUESTION) -> str:
    return json.dumps(index.ask(question).to_dict(), sort_keys=True, ensure_ascii=False)


def fixture_corpus_at(folder: Path) -> Path:
    return write_corpus(folder, FIXTURE_FILES, FIXTURE_CATALOG)


def rechecksum(generation: Path) -> None:
    """Rewrite the manifest's artifact checksums after a deliberate edit (a consistent forgery)."""
    path = generation / "manifest.json"
    manifest = json.loads(path.read_text())
    for rel in manifest["artifacts"]:
        data = (generation / rel).read_bytes()
        manifest["artifacts"][rel] = {"sha256": hashlib.sha256(data).hexdigest(),
                                      "size": len(data)}
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True))


def current_gen(index_dir: Path) -> Path:
    return Path(index_dir) / (Path(index_dir) / "CURRENT").read_text().strip()


def env_with_src(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, (str(SRC), os.environ.get("PYTHONPATH"))))
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1",
            "GRADIO_ANALYTICS_ENABLED": "False", **extra}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the askcorpus CLI in a subprocess (what a user runs)."""
    return subprocess.run([sys.executable, "-m", "askcorpus.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env_with_src(), cwd=ROOT)


# --------------------------------------------------------------------------- live servers

# ``askcorpus serve`` with the engine patched: "boom..." raises an internal error that names a
# file path, "slow..." sleeps first (to fill the queue). Everything else is the real command.
PATCHED_SERVE = """
import sys, time
import askcorpus.api as api
_ask = api.Index.ask
def ask(self, question, *args, **kwargs):
    if isinstance(question, str) and question.startswith("boom"):
        raise RuntimeError("internal failure reading /srv/secret/corpus/private-notes.txt")
    if isinstance(question, str) and question.startswith("slow"):
        time.sleep(float(question.split()[1]) if len(question.split()) > 1 else 0.2)
    return _ask(self, question, *args, **kwargs)
api.Index.ask = ask
from askcorpus.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Server:
    """A running ``askcorpus serve`` subprocess over a hash:64 index of the fixture corpus."""

    def __init__(self, workdir: Path, *, patched: bool = False, timeout: float = 120) -> None:
        self.workdir = workdir
        self.corpus = fixture_corpus_at(workdir / "corpus")
        self.index = workdir / "index"
        self.temp = workdir / "gradio-tmp"
        self.temp.mkdir()
        self.log = workdir / "server.log"
        import askcorpus

        askcorpus.build(self.corpus, self.index, model=HASH_MODEL)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        serve = ["serve", "--corpus", str(self.corpus), "--index", str(self.index),
                 "--port", str(self.port)]
        cmd = [sys.executable, "-c", PATCHED_SERVE, *serve] if patched else \
            [sys.executable, "-m", "askcorpus.cli", *serve]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                         env=env_with_src(GRADIO_TEMP_DIR=str(self.temp)))
        try:
            wait_for_port(self.port, self.proc, timeout, self.log)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_bytes(self) -> bytes:
        return self.log.read_bytes()

    # ---------------------------------------------------------------- the two-step API
    def post(self, client: httpx.Client, data: list[Any] | bytes) -> httpx.Response:
        body = data if isinstance(data, bytes) else json.dumps({"data": data}).encode()
        return client.post(f"{self.url}/gradio_api/call/ask", content=body,
                           headers={"content-type": "application/json"})

    def result(self, client: httpx.Client, event_id: str) -> tuple[str, Any]:
        """("complete" | "error", payload) of a queued call."""
        text = client.get(f"{self.url}/gradio_api/call/ask/{event_id}").text
        event, payload = "", None
        for line in text.splitlines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                raw = line.split(":", 1)[1].strip()
                try:
                    payload = json.loads(raw)
                except json.JSONDecodeError:
                    payload = raw
                return event, payload
        return event or "none", text

    def ask(self, data: list[Any] | bytes, timeout: float = 60) -> tuple[str, Any]:
        with httpx.Client(timeout=timeout) as client:
            response = self.post(client, data)
            if response.status_code != 200:
                return f"http {response.status_code}", response.text
            return self.result(client, response.json()["event_id"])


    def queue_size(self) -> int:
        """Events waiting in Gradio's queue (the running one not counted)."""
        response = httpx.get(f"{self.url}/gradio_api/queue/status", timeout=30)
        response.raise_for_status()
        return int(response.json()["queue_size"])

    def wait_for_empty_queue(self, timeout: float = 180) -> None:
        """Poll the queue until it holds no waiting event (raise if it never drains)."""
        if not wait_until(lambda: self.queue_size() == 0, timeout=timeout, step=0.1):
            raise TimeoutError(f"the queue still holds {self.queue_size()} events after "
                               f"{timeout} s")


_SERVERS: dict[bool, Server] = {}
_SERVERS_LOCK = threading.Lock()


def shared_server(*, patched: bool = False) -> Server:
    """One server per kind for the whole test session (starting Gradio costs seconds)."""
    with _SERVERS_LOCK:
        server = _SERVERS.get(patched)
        if server is None or server.proc.poll() is not None:
            workdir = Path(tempfile.mkdtemp(prefix="askcorpus-web-"))
            server = Server(workdir, patched=patched)
            _SERVERS[patched] = server
            atexit.register(_cleanup, server)
        return server


def _cleanup(server: Server) -> None:
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
