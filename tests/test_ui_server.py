"""A real ``askcorpus serve`` of the seed corpus, via gradio_client and raw HTTP (T40-T43)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import askcorpus
from ui_helpers import shared_server

pytestmark = pytest.mark.web

CONTESTED = "Is the fighting happening on the territory of Armenia?"
UNANSWERABLE = "What is the best recipe for banana bread?"


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    seed_corpus: Path,
    seed_index: askcorpus.Index,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    """The session's seed server over the session's seed index (opened, not rebuilt)."""
    log = tmp_path_factory.mktemp("serve") / "server.log"
    url, proc = shared_server(request.config, seed_corpus, seed_index.index_dir, log)
    return {"url": url, "pid": proc.pid, "corpus": seed_corpus, "index": seed_index.index_dir}


@pytest.fixture(scope="module")
def client(server: dict):
    from gradio_client import Client

    return Client(server["url"], verbose=False)  # the defaults a Gradio user writes


def test_contested_question_shows_both_sides(client, server: dict) -> None:
    answer = client.predict(CONTESTED, 5, [], api_name="/ask")
    assert answer["status"] == "contested"
    assert len([s for s, ns in answer["sides"].items() if ns]) >= 2
    assert {"armenian", "azerbaijani"} <= set(answer["sides"])
    # Every quote is verbatim: the cited span of the corpus file is exactly the passage.
    for c in answer["citations"]:
        text = (server["corpus"] / c["source_path"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["text"]


def test_unanswerable_question_is_no_answer(client) -> None:
    answer = client.predict(UNANSWERABLE, 5, [], api_name="/ask")
    assert answer["status"] == "no_answer"
    assert answer["citations"] == [] and answer["summary"] == []


def test_perspective_filter_through_api(client) -> None:
    answer = client.predict(CONTESTED, 3, ["azerbaijani"], api_name="/ask")
    assert {c["perspective"] for c in answer["citations"]} <= {"azerbaijani"}


@pytest.mark.parametrize(
    ("question", "k", "sides"),
    [("   ", 5, []), ("x" * 5000, 5, []), (CONTESTED, 5, ["no-such-side"]), (CONTESTED, 0, [])],
)
def test_bad_input_is_a_one_line_error(client, question: str, k: int, sides: list[str]) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(question, k, sides, api_name="/ask")
    message = str(info.value)
    assert message and "\n" not in message.strip() and "Traceback" not in message


def test_only_the_ask_endpoint_is_public(client) -> None:
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == [
        "/ask"
    ]


# --------------------------------------------------------------------------- raw HTTP


def _file_targets(server: dict) -> list[str]:
    corpus, index = Path(server["corpus"]).resolve(), Path(server["index"]).resolve()
    catalog = str(corpus / "catalog.toml")
    return [
        catalog,
        catalog.upper(),
        str(next(corpus.glob("*.txt"))),
        str(index / "CURRENT"),
        str(next(index.glob("gen-*")) / "manifest.json"),
        "/etc/passwd",
        "../../../../etc/passwd",
        f"{corpus}/../{corpus.name}/catalog.toml",
        "//host/share/x",
        "http://169.254.169.254/latest/meta-data/",
    ]


def test_t40_file_route_serves_neither_corpus_nor_index(server: dict) -> None:
    with httpx.Client(base_url=server["url"], timeout=30) as http:
        for target in _file_targets(server):
            response = http.get(f"/gradio_api/file={target}")
            assert response.status_code in (403, 404), target
            assert "root:" not in response.text and "[[documents]]" not in response.text
            assert '"format_version"' not in response.text


def test_t41_upload_over_max_file_size_is_refused(server: dict) -> None:
    with httpx.Client(base_url=server["url"], timeout=30) as http:
        files = {"files": ("big.txt", b"x" * 2_000_000, "text/plain")}
        assert http.post("/gradio_api/upload", files=files).status_code == 413


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary"])
def test_t42_monitoring_is_off(server: dict, path: str) -> None:
    response = httpx.get(server["url"].rstrip("/") + path, timeout=30)
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/config", "/gradio_api/info"])
def test_t42_config_and_info_reveal_no_paths(server: dict, path: str) -> None:
    body = httpx.get(server["url"].rstrip("/") + path, timeout=30).text
    for secret in (str(Path(server["corpus"]).resolve()), str(Path(server["index"]).resolve())):
        assert secret not in body
    assert "askcorpus-ui-" not in body  # the export folder


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://evil.localhost"])
@pytest.mark.parametrize("path", ["/config", "/gradio_api/info"])
def test_t43_no_cors_for_foreign_origins(server: dict, origin: str, path: str) -> None:
    response = httpx.get(server["url"].rstrip("/") + path, headers={"Origin": origin}, timeout=30)
    assert "access-control-allow-origin" not in response.headers
