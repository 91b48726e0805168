"""The web UI in headless Chromium: a contested answer side by side, and hostile documents inert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import askcorpus
from conftest import write_corpus
from ui_helpers import CHROMIUM, CHROMIUM_ARGS, HOSTILE, ROOT, running_server, shared_server

pytestmark = pytest.mark.web

CONTESTED = "Is the fighting happening on Armenian territory?"
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
    "x<img src=x onerror=window.__pwned=5>.txt": (
        "A file whose name is markup. The river dam and the water of the farms are described "
        "here once more, in plain words about the valley.\n"
    ),
}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
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

    page.click("#ac-show-doc")
    target = page.locator("#ac-document #ac-target")
    expect(target).to_be_visible(timeout=30_000)
    expect(target).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "document.png"))
    assert_not_pwned(page)


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
    assert target.read_text(encoding="utf-8").startswith("# Is the fighting happening")


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
