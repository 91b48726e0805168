"""Reliability matrix T40-T45: a real `askcorpus serve` subprocess, probed over HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reliability_helpers import shared_server

pytestmark = pytest.mark.web


@pytest.fixture(scope="module")
def server():
    return shared_server()


@pytest.fixture(scope="module")
def patched():
    """The same command with the engine wrapped: "boom…" raises, "slow N…" sleeps N s."""
    return shared_server(patched=True)


# --------------------------------------------------------------------------- T40
def test_t40_file_route(server):
    corpus, index = server.corpus, server.index
    generation = index / (index / "CURRENT").read_text().strip()
    paths = [
        f"{corpus}/north.txt", f"{corpus}/catalog.toml", f"{index}/CURRENT",
        f"{generation}/manifest.json", f"{generation}/passages.jsonl",
        "/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd", "//host/share/file.txt", "\\\\host\\share\\file.txt",
        f"{str(corpus).upper()}/NORTH.TXT", f"{corpus}/../corpus/./north.txt",
        "http://169.254.169.254/latest/meta-data/", "https://example.org/x.txt",
        "file:///etc/passwd",
    ]
    secrets = [(corpus / "north.txt").read_text()[:40], "root:x:0:0",
               (generation / "manifest.json").read_text()[:30]]
    with httpx.Client(timeout=30) as client:
        for path in paths:
            for prefix in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
                response = client.get(server.url + prefix + path)
                assert response.status_code in (400, 403, 404), (prefix + path,
                                                                  response.status_code)
                assert not any(s in response.text for s in secrets), prefix + path
    assert b"169.254.169.254" not in server.log_bytes() or b"Connecting" not in \
        server.log_bytes()


# --------------------------------------------------------------------------- T41
def test_t41_upload_limits(server):
    def stored() -> int:
        return sum(p.stat().st_size for p in server.temp.rglob("*") if p.is_file())

    before = stored()
    with httpx.Client(timeout=60) as client:
        big = client.post(f"{server.url}/gradio_api/upload",
                          files={"files": ("big.txt", b"x" * 2_000_000)})
        assert big.status_code == 413, big.text[:200]
        assert stored() - before < 1_000_000  # the 2 MB body was not kept
        many = client.post(f"{server.url}/gradio_api/upload",
                           files=[("files", (f"f{i}.txt", b"x")) for i in range(1000)])
        assert many.status_code in (200, 400, 413, 422), many.status_code
        assert stored() - before < 1_000_000, stored() - before  # bounded disk use
        assert client.get(f"{server.url}/config").status_code == 200  # still serving
    event, _ = server.ask(["river dam", 3, None])
    assert event == "complete"


# --------------------------------------------------------------------------- T42
def test_t42_monitoring_info_config(server):
    secrets = [str(server.corpus), str(server.index), str(server.workdir), "CORPUS_DIR",
               "INDEX_DIR", "HF_TOKEN", "GRADIO_TEMP_DIR", str(server.temp)]
    with httpx.Client(timeout=30) as client:
        for path in ("/monitoring", "/monitoring/summary", "/gradio_api/monitoring",
                     "/gradio_api/monitoring/summary"):
            response = client.get(server.url + path)
            assert response.status_code in (403, 404), (path, response.status_code)
        for path in ("/gradio_api/info", "/config", "/gradio_api/config", "/"):
            response = client.get(server.url + path)
            if response.status_code != 200:
                assert response.status_code in (403, 404), path
                continue
            for secret in secrets:
                assert secret not in response.text, (path, secret)
        info = client.get(server.url + "/gradio_api/info").json()
        assert "/ask" in json.dumps(info)  # the documented API is there, nothing more private
        assert "mcp" not in client.get(server.url + "/config").json().get("mode", "")


# --------------------------------------------------------------------------- T43
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://evil.localhost.example",
                                    "http://127.0.0.1.nip.io", "file://"])
def test_t43_cross_origin(server, origin):
    headers = {"Origin": origin, "Host": "localhost"}
    with httpx.Client(timeout=30) as client:
        for response in (
            client.get(server.url + "/config", headers=headers),
            client.get(server.url + "/gradio_api/info", headers=headers),
            client.options(server.url + "/gradio_api/call/ask",
                           headers={**headers, "Access-Control-Request-Method": "POST",
                                    "Access-Control-Request-Headers": "content-type"}),
            client.post(server.url + "/gradio_api/call/ask", headers=headers,
                        json={"data": ["river dam", 3, None]}),
        ):
            allowed = response.headers.get("access-control-allow-origin")
            assert allowed is None, (origin, response.request.url, allowed)
        # A page on localhost itself may talk to a server on localhost (Gradio's rule).
        same = client.get(server.url + "/config",
                          headers={"Origin": "http://localhost:7860", "Host": "localhost"})
        assert same.headers.get("access-control-allow-origin") in (None, "http://localhost:7860")


# --------------------------------------------------------------------------- T44
def test_t44_internal_error_hidden(patched):
    event, payload = patched.ask(["boom: fail now", 3, None])
    assert event == "error"
    text = json.dumps(payload)
    assert "/srv/secret" not in text and "RuntimeError" not in text and "Traceback" not in text
    assert payload.get("error") in (None, "", "Error") or "verbose" in str(payload.get("error"))
    log = patched.log_bytes().decode(errors="replace")
    assert "RuntimeError: internal failure reading /srv/secret/corpus/private-notes.txt" in log
    event, _ = patched.ask(["river dam", 3, None])  # and it keeps serving
    assert event == "complete"


# --------------------------------------------------------------------------- T45
def test_t45_queue_overflow(patched):
    max_size = 64
    submits = 3 * max_size

    def submit(i: int) -> tuple[int, str]:
        response = patched.post(client, [f"slow 0.05 river dam {i}", 3, None])
        return response.status_code, response.text

    # One pooled client: a fresh httpx.Client per request is slow enough to let the queue drain.
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=64)) as client, \
            ThreadPoolExecutor(32) as pool:
        results = list(pool.map(submit, range(submits)))
    accepted = [t for code, t in results if code == 200]
    rejected = [t for code, t in results if code == 503]
    errors = [(code, t[:100]) for code, t in results if code not in (200, 503)]
    assert not errors, errors[:3]
    assert rejected and all("Queue is full" in t for t in rejected)
    assert len(accepted) >= max_size // 2
    # The server recovers: once the queue has drained (polled), a normal question is answered.
    patched.wait_for_empty_queue(timeout=180)
    event, payload = patched.ask(["Who owns the river dam water?", 3, None], timeout=180)
    assert event == "complete", payload
    print(f"T45: {len(accepted)} accepted, {len(rejected)} rejected (queue full), 0 errors")
