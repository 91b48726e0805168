"""The JSON API of a real ``askcorpus serve`` (POST /api/ask, GET /api/health), over raw HTTP.

Answers are the engine's own, byte for byte what ``render.to_json`` makes of ``Index.ask``;
every bad request is a 4xx whose JSON body is one sentence; concurrent requests all get their
own answer; an internal failure stays generic (T44) and an overloaded server says "busy" (T45).
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import askcorpus
from askcorpus import render
from reliability_helpers import shared_server as fixture_server
from ui_helpers import shared_server

pytestmark = pytest.mark.web

CONTESTED = "Is the fighting happening on the territory of Armenia?"
UNANSWERABLE = "What is the best recipe for banana bread?"
QUESTIONS = [
    (CONTESTED, 5, None),
    (UNANSWERABLE, 5, None),
    ("How many soldiers does Armenia say have been killed?", 5, None),
    ("What did Yuri Kim tell the Senate?", 3, None),
    ("Were civilians attacked?", 4, ["azerbaijani"]),
]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, seed_corpus: Path, seed_index: askcorpus.Index,
           tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's seed server (shared with tests/test_ui_server.py); its base URL."""
    log = tmp_path_factory.mktemp("serve") / "server.log"
    url, _ = shared_server(request.config, seed_corpus, seed_index.index_dir, log)
    return url.rstrip("/")


@pytest.fixture(scope="module")
def http(server: str):
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def _ask(http: httpx.Client, question: str, k: int = 5, perspectives=None) -> httpx.Response:
    body: dict = {"question": question, "k": k}
    if perspectives is not None:
        body["perspectives"] = perspectives
    return http.post("/api/ask", json=body)


@pytest.mark.parametrize(("question", "k", "perspectives"), QUESTIONS)
def test_answers_are_index_ask_serialised_like_ask_json(
        http: httpx.Client, seed_index: askcorpus.Index, question: str, k: int,
        perspectives: list[str] | None) -> None:
    response = _ask(http, question, k, perspectives)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = seed_index.ask(question, k=k, perspectives=perspectives)
    assert response.text == render.to_json(answer, indent=None)  # the CLI's serialiser


def test_statuses_cover_a_contested_and_a_no_answer_question(http: httpx.Client) -> None:
    contested = _ask(http, CONTESTED).json()
    assert contested["status"] == "contested" and {"armenian", "azerbaijani"} <= set(
        contested["sides"])
    nothing = _ask(http, UNANSWERABLE).json()
    assert nothing["status"] == "no_answer" and nothing["citations"] == []


def test_a_name_typed_alone_is_answered_as_a_lookup(http: httpx.Client) -> None:
    answer = _ask(http, "Luis Moreno Ocampo").json()
    assert answer["status"] != "no_answer"
    assert answer["notices"][0].startswith("Read as a lookup")
    assert "Moreno Ocampo" in answer["citations"][0]["text"]


def test_the_json_api_and_the_gradio_api_give_the_same_answer(server: str,
                                                              http: httpx.Client) -> None:
    from gradio_client import Client

    client = Client(server + "/", verbose=False)
    for question, k, perspectives in QUESTIONS:
        gradio = client.predict(question, k, perspectives or [], api_name="/ask")
        assert _ask(http, question, k, perspectives).json() == gradio, question


def test_health_names_the_generation_served(http: httpx.Client,
                                            seed_index: askcorpus.Index) -> None:
    health = http.get("/api/health").json()
    assert health["status"] == "ok" and health["generation"] == seed_index.generation
    assert health["documents"] == len(seed_index.documents())


def test_concurrent_requests_each_get_their_own_answer(
        http: httpx.Client, seed_index: askcorpus.Index) -> None:
    expected = {q: json.loads(render.to_json(seed_index.ask(q, k=k, perspectives=p)))
                for q, k, p in QUESTIONS}
    jobs = QUESTIONS * 8

    def one(job: tuple) -> tuple[str, int, dict]:
        response = _ask(http, *job)
        return job[0], response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, jobs))
    assert [code for _, code, _ in results] == [200] * len(jobs)
    for question, _, answer in results:
        assert answer == expected[question], question


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BAD_REQUESTS = [
    # (id, body, headers, status, words the message must contain)
    ("empty", {"question": ""}, JSON, 400, "enter a question"),
    ("blank", {"question": " \n\t\u3000\u200b"}, JSON, 400, "enter a question"),
    ("10 KB", {"question": "x" * 10_000}, JSON, 400, "2000"),
    ("1 MB", {"question": "x" * 1_000_000}, JSON, 413, "2000 characters"),
    ("not text", {"question": ["a"]}, JSON, 400, "must be text"),
    ("no question", {"k": 5}, JSON, 400, '"question" field'),
    ("k 0", {"question": "river", "k": 0}, JSON, 400, "from 1 to"),
    ("k huge", {"question": "river", "k": 10**9}, JSON, 400, "from 1 to"),
    ("k text", {"question": "river", "k": "abc"}, JSON, 400, "whole number"),
    ("k bool", {"question": "river", "k": True}, JSON, 400, "whole number"),
    ("k fraction", {"question": "river", "k": 2.5}, JSON, 400, "whole number"),
    ("k NaN", b'{"question": "river", "k": NaN}', JSON, 400, "whole number"),
    ("unknown side", {"question": "river", "perspectives": ["no-such-side"]}, JSON, 400,
     "choose from: armenian"),
    ("side not a list", {"question": "river", "perspectives": "armenian"}, JSON, 400,
     "list of ids"),
    ("side not text", {"question": "river", "perspectives": [1]}, JSON, 400, "list of ids"),
    ("unknown document", {"question": "river", "documents": ["nope"]}, JSON, 400, "Unknown"),
    ("unknown field", {"question": "river", "sides": ["armenian"]}, JSON, 400,
     "the fields are question"),
    ("invalid JSON", b'{"question": ', JSON, 400, "not valid JSON"),
    ("invalid UTF-8", b'{"question": "\xff\xfe"}', JSON, 400, "not valid JSON"),
    ("deep nesting", _nested(30_000), JSON, 400, "not valid JSON"),
    ("not an object", b'["river"]', JSON, 400, "JSON object"),
    ("lone surrogate", b'{"question": "\\ud800 river"}', JSON, 400, "invalid text"),
    ("not JSON", b"question=river", {"content-type": "application/x-www-form-urlencoded"},
     415, "Content-Type: application/json"),
    ("no content type", b'{"question": "river"}', {}, 415, "Content-Type: application/json"),
]


@pytest.mark.parametrize(("body", "headers", "status", "words"),
                         [case[1:] for case in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_input_is_a_4xx_with_one_sentence_that_says_what_to_do(
        http: httpx.Client, body, headers: dict, status: int, words: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = http.post("/api/ask", content=content, headers=headers)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert list(error) == ["error"] and words in error["error"]
    message = error["error"]
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message


def test_a_wrong_method_is_a_json_405(http: httpx.Client) -> None:
    response = http.get("/api/ask")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json() == {"error": "Use POST for /api/ask."}


def test_t2_a_10_mb_body_is_refused_before_it_is_read_and_the_server_goes_on(
        http: httpx.Client) -> None:
    started = time.perf_counter()
    response = http.post("/api/ask", content=b'{"question": "' + b"x" * 10_000_000 + b'"}',
                         headers=JSON)
    assert response.status_code == 413 and "2000" in response.json()["error"]
    assert time.perf_counter() - started < 5  # loopback upload included; no tokenizing
    assert _ask(http, CONTESTED).json()["status"] == "contested"


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_t43_no_cors_for_foreign_origins(http: httpx.Client, origin: str) -> None:
    preflight = http.options("/api/ask", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    answer = http.post("/api/ask", json={"question": "river"}, headers={"Origin": origin})
    for response in (preflight, answer):
        assert "access-control-allow-origin" not in response.headers


# ----------------------------------------------------------------- internal errors, overload
# The fixture corpus served by `askcorpus serve` with the engine patched: "boom…" raises an
# internal error naming a file path, "slow N…" sleeps N s first (tests/reliability_helpers.py).


def test_t44_an_internal_error_is_one_generic_sentence_and_the_log_has_it() -> None:
    server = fixture_server(patched=True)
    response = httpx.post(f"{server.url}/api/ask", json={"question": "boom now"}, timeout=60)
    assert response.status_code == 500
    message = response.json()["error"]
    assert "/srv/secret" not in message and "RuntimeError" not in message
    assert "log" in message and message.endswith(".")
    log = server.log_bytes().decode(errors="replace")
    assert "RuntimeError: internal failure reading /srv/secret/corpus/private-notes.txt" in log
    again = httpx.post(f"{server.url}/api/ask", json={"question": "river dam"}, timeout=60)
    assert again.status_code == 200


def test_t45_an_overloaded_server_answers_busy_and_recovers() -> None:
    """3x the 64 requests that may wait, sent at once: the surplus gets 503 "busy, retry" at
    once (never an error or a timeout), and afterwards a question is answered as usual."""
    server = fixture_server(patched=True)

    async def flood() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=3 * 64)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as http:
            return await asyncio.gather(*(
                http.post("/api/ask", json={"question": f"slow 0.05 river dam {i}"})
                for i in range(3 * 64)))

    responses = asyncio.run(flood())
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503}, sorted(set(codes))
    busy = [r for r in responses if r.status_code == 503]
    assert busy and codes.count(200) >= 64 // 2
    assert all(r.headers["retry-after"] == "1" and "retry" in r.json()["error"] for r in busy)
    health = httpx.get(f"{server.url}/api/health", timeout=60).json()
    assert health["waiting"] == 0
    after = httpx.post(f"{server.url}/api/ask", json={"question": "river dam"}, timeout=60)
    assert after.status_code == 200 and after.json()["question"] == "river dam"
