"""The Gradio app over a fake index, in process: hardened config, errors (T44), queue (T45)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from askcorpus import ui
from askcorpus.types import Answer
from ui_helpers import ROOT, FakeIndex, contested_answer, free_port, no_answer

# Gradio's queue (in this process) uses pandas options that pandas 3 deprecates: not ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def test_importing_ui_does_not_import_gradio() -> None:
    code = "import sys, askcorpus.ui; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_launch_options_follow_the_hardened_config(tmp_path) -> None:
    opts = ui.launch_options(blocked_paths=[str(tmp_path / "corpus"), "index"])
    assert opts["server_name"] == "127.0.0.1" and opts["share"] is False
    assert opts["show_error"] is False and opts["enable_monitoring"] is False
    assert opts["strict_cors"] is True and opts["max_file_size"] == "1mb"
    assert opts["ssr_mode"] is False and opts["mcp_server"] is False and opts["pwa"] is False
    assert opts["allowed_paths"] == [] and opts["footer_links"] == []
    # Gradio compares resolved paths, so relative ones are resolved up front.
    assert opts["blocked_paths"] == [str(tmp_path / "corpus"), str(Path("index").resolve())]


def test_exports_are_written_to_the_apps_own_folder() -> None:
    exports = ui._Exports()
    answer = contested_answer()
    md, js = exports.write(answer)
    assert md.startswith(str(exports.root)) and md.endswith("answer.md")
    assert json.loads(Path(js).read_text(encoding="utf-8")) == answer.to_dict()
    assert exports.write(answer) == (md, js)  # the same answer reuses its folder


@dataclass
class SlowIndex(FakeIndex):
    """Answers after a pause, or raises an internal error, to exercise the queue and T44."""

    delay: float = 0.0
    fail_with: Exception | None = None
    calls: list[str] = field(default_factory=list)

    def ask(self, question, k=5, perspectives=None, documents=None) -> Answer:
        self.calls.append(question)
        if self.fail_with is not None and question == "boom":
            raise self.fail_with
        time.sleep(self.delay)
        return super().ask(question, k, perspectives, documents)


@pytest.fixture(scope="module")
def app_server() -> Iterator[tuple[str, SlowIndex]]:
    answer = contested_answer()
    index = SlowIndex(
        {answer.question: answer},
        delay=0.05,
        fail_with=RuntimeError("cannot read /secret/corpus/file.txt"),
    )
    app = ui.build_app(index)
    app.queue(max_size=64, default_concurrency_limit=1)
    port = free_port()
    app.launch(
        prevent_thread_lock=True, quiet=True, **ui.launch_options(blocked_paths=[], port=port)
    )
    try:
        yield f"http://127.0.0.1:{port}/", index
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client

    return Client(app_server[0], verbose=False)  # defaults: citations carry no "path" key


@pytest.mark.web
def test_api_returns_answer_dict(client) -> None:
    answer = contested_answer()
    assert client.predict(answer.question, 5, [], api_name="/ask") == answer.to_dict()
    assert client.predict("unknown", 5, [], api_name="/ask") == no_answer().to_dict()


@pytest.mark.web
def test_question_error_reaches_the_client_as_one_sentence(client) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"Type a question first\."):
        client.predict("  ", 5, [], api_name="/ask")


@pytest.mark.web
def test_t44_internal_error_stays_generic(client) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict("boom", 5, [], api_name="/ask")
    assert "/secret" not in str(info.value) and "RuntimeError" not in str(info.value)


@pytest.mark.web
def test_only_ask_is_a_public_endpoint(client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]


@pytest.mark.web
def test_t45_queue_overflow_is_rejected_and_the_server_recovers(app_server, client) -> None:
    url, index = app_server
    config = httpx.get(url + "config", timeout=30).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "ask")

    async def flood() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            joins = [
                http.post(
                    "gradio_api/queue/join",
                    json={"data": ["slow", 5, []], "fn_index": fn_index, "session_hash": f"s{i}"},
                )
                for i in range(3 * 64)
            ]
            return await asyncio.gather(*joins)

    before = len(index.calls)
    responses = asyncio.run(flood())
    accepted = [r for r in responses if r.status_code == 200]
    rejected = [r for r in responses if r.status_code == 503]
    assert len(accepted) + len(rejected) == len(responses)
    assert rejected and all("Queue is full" in r.text for r in rejected)
    assert 64 <= len(accepted) < len(responses)
    # The server recovers: the accepted jobs drain (polled), then a normal question is answered.
    deadline = time.monotonic() + 120
    while httpx.get(url + "gradio_api/queue/status", timeout=30).json()["queue_size"]:
        assert time.monotonic() < deadline, "the queue did not drain in 120 s"
        time.sleep(0.1)
    answer = client.predict(contested_answer().question, 5, [], api_name="/ask")
    assert answer["status"] == "contested"
    assert len(index.calls) - before >= len(accepted)
