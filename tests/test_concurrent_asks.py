"""Questions answered at once (``ui.serve(concurrency=2)``): the engine gives concurrent questions
the answers it gives them one by one, and the app really runs two of them together."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

import askcorpus
from askcorpus import ui
from askcorpus.types import Answer
from ui_helpers import ROOT, FakeIndex, contested_answer, free_port

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _questions() -> list[str]:
    rows = [json.loads(line) for line in
            (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows[:30]] + ["What is the capital of Australia?"]


def test_concurrent_asks_give_the_serial_answers(seed_index: askcorpus.Index) -> None:
    questions = _questions()
    serial = {q: (seed_index.ask(q).to_dict(), [c.to_dict() for c in seed_index.search(q)])
              for q in questions}
    jobs = questions * 4
    random.Random(0).shuffle(jobs)

    def both(question: str) -> tuple[str, tuple[dict, list[dict]]]:
        return question, (seed_index.ask(question).to_dict(),
                          [c.to_dict() for c in seed_index.search(question)])

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(both, jobs))
    assert len(together) == len(jobs)
    for question, found in together:
        assert found == serial[question], question


@dataclass
class MeetingIndex(FakeIndex):
    """Answers only once a second question has arrived as well: proof that two run at once
    (with one slot, the first waits in vain and its answer is an error)."""

    meeting: threading.Barrier = field(default_factory=lambda: threading.Barrier(2, timeout=30))

    def ask(self, question, k=5, perspectives=None, documents=None) -> Answer:
        self.meeting.wait()
        return super().ask(question, k, perspectives, documents)


@pytest.mark.web
def test_the_app_answers_two_questions_at_once() -> None:
    from gradio_client import Client

    answer = contested_answer()
    index = MeetingIndex({answer.question: answer})
    app = ui.build_app(index, concurrency=2)
    app.queue(max_size=64, default_concurrency_limit=1)
    port = free_port()
    app.launch(prevent_thread_lock=True, quiet=True,
               **ui.launch_options(blocked_paths=[], port=port))
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        jobs = [client.submit(answer.question, 5, [], api_name="/ask") for _ in range(2)]
        assert [job.result(timeout=60) for job in jobs] == [answer.to_dict()] * 2
    finally:
        app.close()


def test_concurrent_exports_are_written_and_pruned_safely() -> None:
    """More distinct answers than are kept, written 8 at a time: every write returns its
    files, and pruning leaves exactly the newest MAX_EXPORTS folders."""
    exports = ui._Exports()
    answers = [replace(contested_answer(), question=f"Question {i}?")
               for i in range(ui.MAX_EXPORTS + 64)]
    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(exports.write, answers))
    assert len(set(written)) == len(answers)
    assert all(Path(md).is_file() and Path(js).is_file() for md, js in written[-8:])
    assert len(list(exports.root.iterdir())) == ui.MAX_EXPORTS
