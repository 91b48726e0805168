"""The web UI in headless Chromium: a contested answer side by side, and hostile documents inert."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import askcorpus
from conftest import write_corpus
from pdf_helpers import RIVER_PAGES, make_pdf
from ui_helpers import (
    CHROMIUM_ARGS,
    HOSTILE,
    NO_CHROMIUM,
    ROOT,
    find_chromium,
    free_port,
    running_server,
    shared_server,
)

pytestmark = pytest.mark.web

CONTESTED = "Is the fighting happening on the territory of Armenia?"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
# Markup in the question itself must be echoed as text too (T8).
HOSTILE_QUESTION = (
    "What do the river notes say about the dam and the water for the farms? "
    "<img src=x onerror=window.__pwned=8>"
)
HOSTILE_FILES = {
    "page.html": (
        "<html><head><title>River page</title><script>window.__pwned=1</script></head>"
        "<body><p>The river dam holds water for the farms of the valley. "
        '<img src=x onerror="window.__pwned=6"> The farmers say the dam water is shared.</p>'
        "</body></html>"
    ),
    "river notes.txt": (
        "River notes. The dam on the river stores water for the farms in the valley, and the "
        "farmers share the water from the dam every summer.\n\n"
        f"{HOSTILE} ${{window.__pwned=4}} ![](http://127.0.0.1:9/px.png) "
        "[click](javascript:window.__pwned=7) The dam water reaches every farm.\n"
    ),
    "river.pdf": make_pdf(RIVER_PAGES),
    "x<img src=x onerror=window.__pwned=5>.txt": (
        "A file whose name is markup. The river dam and the water of the farms are described "
        "here once more, in plain words about the valley.\n"
    ),
}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            bundled = p.chromium.executable_path
        except Exception:  # no Playwright browser downloaded
            bundled = None
        executable = find_chromium(bundled)
        if executable is None:
            pytest.fail(NO_CHROMIUM, pytrace=False)
        chromium = p.chromium.launch(executable_path=executable, headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def seed_server(
    request: pytest.FixtureRequest,
    seed_corpus: Path,
    seed_index: askcorpus.Index,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    log = tmp_path_factory.mktemp("serve") / "server.log"
    return shared_server(request.config, seed_corpus, seed_index.index_dir, log)[0]


@pytest.fixture(scope="module")
def hostile_server(seed_index: askcorpus.Index, tmp_path_factory: pytest.TempPathFactory):
    """A corpus of hostile files, built with the real model (already loaded by seed_index)."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = write_corpus(root / "corpus", HOSTILE_FILES)
    askcorpus.build(corpus, root / "index")
    with running_server(corpus, root / "index", root / "server.log") as (url, _proc):
        yield url


def ask(page, question: str) -> None:
    """Type a question, click Ask, and wait until the answer for *this* question is shown."""
    page.fill("#ac-question textarea", question)
    page.click("#ac-ask")
    page.wait_for_function(
        "q => { const e = document.querySelector('#ac-answer .ac-question bdi');"
        " return e !== null && e.textContent === q; }",
        arg=question,
        timeout=60_000,
    )


def assert_not_pwned(page) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[onerror], svg[onload], [onclick], [onmouseover]").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if h.lower().startswith("javascript:")]


def test_contested_answer_side_by_side_and_show_in_document(page, seed_server, tmp_path) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    ask(page, CONTESTED)
    banner = page.locator("#ac-answer .ac-banner")
    expect(banner).to_have_attribute("data-status", "contested")
    expect(banner).to_contain_text("Sources disagree")
    sides = page.locator("#ac-answer .ac-side")
    assert sides.count() >= 2
    boxes = [sides.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]  # side by side
    assert page.locator("#ac-answer .ac-card[data-passage-id] mark").count() >= 2
    page.screenshot(path=str(tmp_path / "contested.png"), full_page=True)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The last citation sits deep in its document: the panel must scroll to it.
    choice = page.locator("#ac-cited input")
    choice.click()
    for _ in range(4):
        choice.press("ArrowDown")
    choice.press("Enter")
    page.click("#ac-show-doc")
    target = page.locator("#ac-document #ac-target")
    expect(target).to_be_visible(timeout=30_000)
    expect(target).to_be_in_viewport()
    page.wait_for_timeout(500)
    assert_centred_in_panel(page)
    page.screenshot(path=str(tmp_path / "document.png"))
    assert_not_pwned(page)


def assert_centred_in_panel(page) -> None:
    """The highlighted passage is inside the document panel's visible box, not above it."""
    mark = page.locator("#ac-document #ac-target").bounding_box()
    box = page.locator("#ac-document .ac-doc-text").bounding_box()
    assert box["y"] - 1 <= mark["y"] <= box["y"] + box["height"], (mark, box)
    viewport = page.viewport_size
    assert 0 <= mark["y"] <= viewport["height"], (mark, viewport)


def test_bad_question_shows_the_engines_message(page, seed_server, seed_index) -> None:
    from playwright.sync_api import expect

    with pytest.raises(askcorpus.QuestionError) as info:
        seed_index.ask("   ")
    page.goto(seed_server)
    page.fill("#ac-question textarea", "   ")
    page.click("#ac-ask")
    expect(page.get_by_text(str(info.value)).first).to_be_visible(timeout=30_000)
    assert page.locator("#ac-answer .ac-banner").count() == 0


def test_exports_download(page, seed_server, tmp_path) -> None:
    page.goto(seed_server)
    ask(page, CONTESTED)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export answer.md").click()
    target = tmp_path / "answer.md"
    info.value.save_as(target)
    markdown = target.read_text(encoding="utf-8")
    assert markdown.startswith("# Is the fighting happening")
    # No visible escapes in ordinary prose: "(SSR)", "[1]" read as in the documents.
    assert not re.search(r"\\[()\[\].,#!-]", markdown), re.findall(r".{20}\\.{5}", markdown)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export answer.json").click()
    info.value.save_as(tmp_path / "answer.json")
    answer = json.loads((tmp_path / "answer.json").read_text(encoding="utf-8"))
    for c in answer["citations"]:  # the key gradio_client would take for a file is gone
        assert "path" not in c and c["source_path"].endswith(".txt")


def test_hostile_documents_stay_inert(page, hostile_server, tmp_path) -> None:
    from playwright.sync_api import expect

    page.goto(hostile_server)
    page.locator("#ac-show-nearest input").check()  # in case the engine abstains
    ask(page, HOSTILE_QUESTION)
    expect(page.locator("#ac-answer .ac-card").first).to_be_visible()
    expect(page.get_by_text("<img src=x onerror", exact=False).first).to_be_visible()
    assert_not_pwned(page)
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    if page.locator("#ac-show-doc").is_enabled():
        page.click("#ac-show-doc")
        page.wait_for_timeout(1000)
        assert_not_pwned(page)
    page.get_by_role("tab", name="Corpus").click()
    grid = page.get_by_role("grid", name="Documents")
    expect(grid.get_by_text("x<img src=x onerror=window.__pwned=5>.txt").last).to_be_visible()
    page.wait_for_timeout(500)
    assert_not_pwned(page)


# --------------------------------------------------------------------------- issue 13
def test_empty_question_replaces_the_previous_answer_with_one_message(page, seed_server) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    ask(page, CONTESTED)
    page.fill("#ac-question textarea", "")
    page.click("#ac-ask")
    message = page.locator("#ac-answer .ac-message")
    expect(message).to_have_text("Please enter a question.", timeout=30_000)
    assert page.locator("#ac-answer .ac-card").count() == 0  # the old answer is gone
    assert page.get_by_text("Error", exact=True).count() == 0  # no red badges, no pop-up
    assert page.locator(".toast-body").count() == 0
    assert not page.get_by_role("button", name="Export answer.md").is_visible()


def test_long_questions_are_limited_and_wrap(page, seed_server) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    box = page.locator("#ac-question textarea")
    box.fill("x" * 20_000)
    assert len(box.input_value()) == 2000  # Settings.max_question_chars, in the browser too
    page.click("#ac-ask")
    expect(page.locator("#ac-answer .ac-answer")).to_be_visible(timeout=60_000)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # nothing pushes the page wider than the window


def test_corpus_tab_table_fits_the_window(page, seed_server) -> None:
    from playwright.sync_api import expect

    page.goto(seed_server)
    page.get_by_role("tab", name="Corpus").click()
    grid = page.get_by_role("grid", name="Documents")
    expect(grid).to_be_visible()
    viewport = page.viewport_size["width"]
    for name in ("title", "publisher", "date", "kind", "perspective", "passages"):
        header = grid.get_by_role("columnheader", name=name).first
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport, (name, box)


def test_fonts_are_system_fonts_and_nothing_is_fetched(browser, seed_server) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url)
            if not r.url.startswith(seed_server.rstrip("/")) else None)
    page.goto(seed_server)
    ask(page, CONTESTED)
    family = page.evaluate(
        "() => getComputedStyle(document.querySelector('#ac-answer .ac-banner')).fontFamily")
    context.close()
    assert family.startswith("system-ui"), family
    assert not [u for u in external if "font" in u], external


def test_pdf_citation_shows_its_page(page, hostile_server) -> None:
    from playwright.sync_api import expect

    page.goto(hostile_server)
    page.locator("#ac-show-nearest input").check()
    ask(page, "Does the southern council demand that the dam gates be opened?")
    card = page.locator("#ac-answer .ac-card", has_text="southern council demands").first
    expect(card).to_be_visible()
    # The quoted words are on page 2: the source names page 2 or a range holding it.
    expect(card.locator(".ac-source")).to_contain_text(re.compile(r"page 2|pages [12]-[23]"))
    assert_not_pwned(page)


def _serve(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1",
           "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "askcorpus.cli", "serve", *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("case", ["mistyped index", "empty corpus"])
def test_serve_refuses_a_mistyped_index_or_an_empty_corpus(tmp_path: Path, case: str) -> None:
    (tmp_path / "empty").mkdir()
    args = ["--index", "typo/index"] if case == "mistyped index" else ["--corpus", "empty"]
    proc = _serve(tmp_path, *args, "--port", str(free_port()))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    expected = "askcorpus build --index typo/index" if case == "mistyped index" else \
        "holds no documents"
    assert expected in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing was created


def test_first_run_from_any_folder_builds_then_serves_with_clear_messages(
        page, tmp_path: Path, seed_index) -> None:
    """`askcorpus serve` with no arguments in an empty folder: the packaged seed corpus, the
    default index built with one progress display, one start-up line, then a working UI."""
    from playwright.sync_api import expect

    port = free_port()
    proc = _serve(tmp_path, "--port", str(port))
    lines: list[str] = []
    try:
        for line in proc.stdout:  # until the start-up line (or the process ends)
            lines.append(line)
            if line.startswith("askcorpus is serving"):
                break
        log = "".join(lines)
        assert f"askcorpus is serving 5 documents at http://127.0.0.1:{port}/" in log, log
        page.goto(f"http://127.0.0.1:{port}/")
        ask(page, CONTESTED)
        expect(page.locator("#ac-answer .ac-banner")).to_contain_text("Sources disagree")
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    log = "".join(lines) + rest
    assert "The corpus has no index yet: building index from" in log, log
    assert "Embedding" in log and "Reading files" not in log.split("Embedding")[1]
    for noise in ("share=True", "holds no complete index", "Loading weights", "Batches",
                  "Traceback"):
        assert noise not in log, (noise, log)
    assert (tmp_path / "index" / "CURRENT").is_file()


def test_missing_chromium_is_a_clear_failure(monkeypatch) -> None:
    import ui_helpers

    monkeypatch.setattr(ui_helpers, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("ASKCORPUS_CHROMIUM", raising=False)
    assert ui_helpers.find_chromium(None) is None
    assert ui_helpers.find_chromium("/nonexistent/playwright-chromium") is None
    assert "apt-get install -y chromium" in NO_CHROMIUM and ".ci/install" in NO_CHROMIUM
