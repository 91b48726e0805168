"""Shared helpers for the render and UI tests: hand-built answers, a fake index, a live server."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from askcorpus.types import (
    Answer,
    BalanceRow,
    Citation,
    Document,
    Passage,
    Perspective,
    Reference,
    SummaryLine,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
NO_CHROMIUM = (
    "No Chromium for the browser tests: install it (`apt-get install -y chromium`, or "
    "`python -m playwright install chromium` without root) or run `.ci/install`, then rerun; "
    "ASKCORPUS_CHROMIUM may name another Chromium binary."
)


def find_chromium(playwright_path: str | None = None) -> str | None:
    """The Chromium to drive: $ASKCORPUS_CHROMIUM, Debian's, one on PATH, or Playwright's own.

    ``None`` when there is none; the browser fixture then fails with :data:`NO_CHROMIUM`.
    """
    candidates = [os.environ.get("ASKCORPUS_CHROMIUM"), CHROMIUM, shutil.which("chromium"),
                  shutil.which("chromium-browser"), playwright_path]
    return next((c for c in candidates if c and Path(c).is_file()), None)


HOSTILE = "<img src=x onerror=window.__pwned=2> <script>window.__pwned=3</script>"

PERSPECTIVES = {
    "armenian": Perspective("armenian", "Armenian side", color="#b4532a"),
    "azerbaijani": Perspective("azerbaijani", "Azerbaijani side", color="#1f6f8b"),
    "international": Perspective("international", "International / independent"),
}
LABELS = tuple((pid, p.label) for pid, p in PERSPECTIVES.items())


def make_document(
    doc_id: str = "doc-a",
    text: str = "First sentence here. The answer sentence is this one. Last one.",
    **fields: str | None,
) -> Document:
    """A document with readable defaults; any metadata field can be overridden."""
    meta = {
        "title": "A Title",
        "publisher": "Pub",
        "date": "2020-10",
        "url": "https://example.org/a",
    }
    meta.update(fields)
    perspective = meta.pop("perspective", None) or "international"
    return Document(doc_id=doc_id, path=f"{doc_id}.txt", text=text, perspective=perspective, **meta)


def make_citation(
    n: int,
    document: Document,
    *,
    perspective: str | None = None,
    speaker: str | None = None,
    speaker_title: str | None = None,
    highlight: tuple[int, int] | None = None,
    references: tuple[Reference, ...] = (),
) -> Citation:
    """A citation over the whole document text (a one-passage document)."""
    text = document.text
    passage = Passage(
        passage_id=f"{document.doc_id}:{n}",
        doc_id=document.doc_id,
        start=0,
        end=len(text),
        text=text,
        speaker=speaker,
        perspective=perspective or document.perspective,
        paragraph=2,
        paragraphs=7,
    )
    return Citation(
        n=n,
        passage=passage,
        document=document,
        score=1.0 / n,
        rank=n,
        highlight=highlight or (0, min(len(text), 20)),
        references=references,
        speaker_title=speaker_title,
    )


def contested_answer() -> Answer:
    """Two sides quoted from inside one international news report, plus one Armenian doc."""
    report = make_document(
        "report",
        "Aghayev said: All of the fighting is happening inside Azerbaijan. End.",
        title="Demonstrations Continue",
        publisher="CBSLA",
    )
    petition = make_document(
        "petition",
        "Azerbaijan attacks civilians in Artsakh. Stop it.",
        title="Stop the War",
        publisher=None,
        perspective="armenian",
        url=None,
    )
    c1 = make_citation(
        1,
        report,
        perspective="azerbaijani",
        speaker="Nasimi Aghayev",
        speaker_title="consul general of Azerbaijan",
        highlight=(14, 62),
    )
    c2 = make_citation(
        2, petition, highlight=(0, 40), references=(Reference(12, "A footnote source.", 0, 1),)
    )
    return Answer(
        question="Is the fighting on Armenian territory?",
        status="contested",
        citations=(c1, c2),
        sides=(("azerbaijani", (1,)), ("armenian", (2,))),
        summary=(
            SummaryLine("azerbaijani", c1.highlighted_text, 1),
            SummaryLine("armenian", c2.highlighted_text, 2),
        ),
        notices=("Only 1 of 5 documents speaks for the Azerbaijani side.",),
        perspective_labels=LABELS,
    )


def answered_answer(text: str = "The answer sentence is this one.", **fields) -> Answer:
    """A plain answered question with one citation over a document holding ``text``."""
    doc = make_document(text=text, **fields)
    cite = make_citation(1, doc, highlight=(0, len(text)))
    return Answer(
        question="What is the answer?",
        status="answered",
        citations=(cite,),
        sides=((doc.perspective, (1,)),),
        summary=(SummaryLine(doc.perspective, text, 1),),
        perspective_labels=LABELS,
    )


def no_answer() -> Answer:
    """A no_answer that still carries nearest passages (which must stay hidden by default)."""
    doc = make_document(text="Bananas are mentioned in passing in this nearby passage.")
    return Answer(
        question="What is the best recipe for banana bread?",
        status="no_answer",
        nearest=(make_citation(1, doc),),
        perspective_labels=LABELS,
    )


@dataclass
class FakeIndex:
    """A duck-typed stand-in for ``askcorpus.api.Index`` that returns canned answers."""

    answers: dict[str, Answer]
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.perspectives = dict(PERSPECTIVES)
        docs = {c.document.doc_id: c.document for a in self.answers.values() for c in a.citations}
        self._docs = docs

    def ask(self, question, k=5, perspectives=None, documents=None) -> Answer:
        from askcorpus.errors import QuestionError

        if not question.strip():
            raise QuestionError("Type a question first.")
        return self.answers.get(question, no_answer())

    def documents(self) -> tuple[Document, ...]:
        return tuple(self._docs.values())

    def document(self, doc_id: str) -> Document:
        return self._docs[doc_id]

    def passages_of(self, doc_id: str) -> tuple[Passage, ...]:
        return ()

    def balance(self) -> tuple[BalanceRow, ...]:
        return (
            BalanceRow("armenian", "Armenian side", 4, 80, 70),
            BalanceRow("azerbaijani", "Azerbaijani side", 0, 0, 6),
            BalanceRow("international", "International / independent", 1, 20, 24),
        )


# --------------------------------------------------------------------------- live server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Used only while the CLI has no ``serve`` command: opens the built index, serves it the same way.
_FALLBACK_SERVE = """
import sys, askcorpus, askcorpus.ui as ui
corpus, index, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ui.serve(askcorpus.open(index), port=port, blocked_paths=[corpus, index])
"""


def serve_cmd(corpus: Path, index: Path, port: int) -> list[str]:
    """``askcorpus serve`` (the console script, or ``python -m askcorpus``) for a corpus/index."""
    if importlib.util.find_spec("askcorpus.cli") is None:
        return [sys.executable, "-c", _FALLBACK_SERVE, str(corpus), str(index), str(port)]
    exe = shutil.which("askcorpus")
    cli = [exe] if exe else [sys.executable, "-m", "askcorpus.cli"]
    return [*cli, "serve", "--corpus", str(corpus), "--index", str(index), "--port", str(port)]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"server did not listen on {port} in {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_server(corpus: Path, index: Path, log: Path, timeout: float = 240) -> Iterator[tuple]:
    """Run ``askcorpus serve`` over a built index on a free port; yield ``(url, process)``."""
    port = free_port()
    cmd = serve_cmd(corpus, index, port)
    src = str(ROOT / "src")
    path = os.pathsep.join(filter(None, (src, os.environ.get("PYTHONPATH"))))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        wait_for_port(port, proc, timeout, log)
        yield f"http://127.0.0.1:{port}/", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_SHARED: dict[tuple[str, str], tuple[str, subprocess.Popen]] = {}


def shared_server(config, corpus: Path, index: Path, log: Path) -> tuple[str, subprocess.Popen]:
    """One server per (corpus, index) for the whole test session, stopped when pytest ends.

    Starting a server costs a model load and a Gradio import (tens of seconds on a busy
    machine), so the server and browser test modules share it.
    """
    key = (str(corpus), str(index))
    if key not in _SHARED:
        context = running_server(corpus, index, log)
        _SHARED[key] = context.__enter__()
        config.add_cleanup(lambda: context.__exit__(None, None, None))
    return _SHARED[key]
