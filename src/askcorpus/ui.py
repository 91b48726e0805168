"""Gradio web UI: a thin layer that asks the index and shows what ``render`` makes of the answer."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import weakref
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from askcorpus import http_api, render
from askcorpus.errors import AskcorpusError
from askcorpus.gate import MAX_WAITING, Gate
from askcorpus.types import Answer, BalanceRow, Document, Passage, Perspective

if TYPE_CHECKING:
    import gradio as gr

__all__ = ["build_app", "launch_options", "serve"]
# Runs in the browser each time the document panel has re-rendered (Gradio's ``watch``): centre
# the highlighted passage inside the panel's own scroll box, then bring the panel into view.
# It is our code, never corpus text (``value`` is inserted as HTML, never evaluated).
SCROLL_JS = """watch('value', () => {
  const t = element.querySelector('#ac-target');
  const box = element.querySelector('.ac-doc-text');
  if (!t || !box) { return; }
  const top = t.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
  box.scrollTop = Math.max(0, top - (box.clientHeight - t.offsetHeight) / 2);
  box.scrollIntoView({block: 'center'});
});"""
# Offline-safe fonts: the default theme fetches web fonts that a machine without internet lacks
# (bold capitals then fall back glyph by glyph). System fonts with real bold faces instead.
FONT_STACK = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
              "Noto Sans", "Liberation Sans", "DejaVu Sans", "sans-serif")
MONO_STACK = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono",
              "DejaVu Sans Mono", "monospace")
# Every event that asks the engine shares one concurrency group of ENGINE_CONCURRENCY slots.
# The engine is thread-safe (a generation is immutable and swapped whole, onnxruntime sessions
# take concurrent runs, the sentence-transformers fallback holds its own lock; see
# tests/test_concurrent_asks.py), so ``serve(concurrency=2)`` answers two questions at once.
# One is the default because two gained nothing on this project's 2 cores: 0.53-0.99x the asks
# per second of one thread in process, 0.85-1.07x the requests per second under
# benchmarks/load.py (the ask is mostly Python, serialised by the GIL; only its ~5 ms encode
# and its FAISS search run beside the other).
ENGINE = "engine"
ENGINE_CONCURRENCY = 1
WARM_UP_QUESTION = "What do the sources say?"
MAX_EXPORTS = 256


class AskIndex(Protocol):
    """What the UI needs from ``askcorpus.api.Index``."""

    perspectives: dict[str, Perspective]
    examples: tuple[str, ...]

    def ask(
        self,
        question: str,
        k: int = 5,
        perspectives: list[str] | None = None,
        documents: list[str] | None = None,
    ) -> Answer: ...

    def documents(self) -> tuple[Document, ...]: ...

    def passages_of(self, doc_id: str) -> tuple[Passage, ...]: ...

    def balance(self) -> tuple[BalanceRow, ...]: ...


def _gradio() -> Any:
    """Import gradio with its usage analytics off (set here, never at import of askcorpus)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio

    return gradio


class _Exports:
    """The app's own folder for answer.md / answer.json downloads (never the corpus or index)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="askcorpus-ui-"))
        weakref.finalize(self, shutil.rmtree, self.root, True)  # also runs at interpreter exit
        # Asks run concurrently: one pruning must not remove a folder another is writing.
        self._lock = threading.Lock()

    def write(self, answer: Answer) -> tuple[str, str]:
        data = render.to_json(answer)
        with self._lock:
            return self._write(answer, data)

    def _write(self, answer: Answer, data: str) -> tuple[str, str]:
        # One folder per distinct answer keeps the download names plain and repeats free.
        folder = self.root / hashlib.sha256(data.encode("utf-8")).hexdigest()[:20]
        folder.mkdir(exist_ok=True)
        md, js = folder / "answer.md", folder / "answer.json"
        md.write_text(render.to_markdown(answer), encoding="utf-8")
        js.write_text(data + "\n", encoding="utf-8")
        os.utime(folder)  # a repeated answer counts as new for pruning
        self._prune()
        return str(md), str(js)

    def _prune(self) -> None:
        """Bound disk use on a long-running server: keep the newest MAX_EXPORTS answers."""
        folders = sorted(self.root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in folders[MAX_EXPORTS:]:
            shutil.rmtree(old, ignore_errors=True)


async def _ask(gate: Gate, index: AskIndex, question: str, k: int, perspectives) -> dict:
    """Call the engine; its input errors become a one-line ``gr.Error`` without a traceback."""
    gr = _gradio()
    try:
        # k goes through unchanged: the engine validates it (and says so) for UI and API alike.
        answer = await gate.run(partial(
            index.ask, question or "", k=k, perspectives=perspectives or None, documents=None))
    except AskcorpusError as e:  # a refused question, or a busy server
        raise gr.Error(render.escape(str(e)), print_exception=False) from None
    return answer.to_dict()


def _message_html(text: str) -> str:
    """One plain message in the answer area (a refused question): no answer, no error badges."""
    return (
        '<div class="ac-answer" data-status="refused">'
        f'<div class="ac-message" role="alert">{render.escape(text)}</div></div>'
    )


def _citation_choices(answer: Answer) -> list[tuple[str, int]]:
    return [
        (f"[{c.n}] {c.document.title} — paragraph {c.passage.paragraph}", c.n)
        for c in answer.citations
    ]


def _document_rows(index: AskIndex) -> list[list[Any]]:
    labels = {pid: p.label for pid, p in index.perspectives.items()}
    return [
        [
            d.title,
            d.publisher or "",
            d.date or "",
            d.kind or "",
            labels.get(d.perspective, d.perspective),
            sum(p.kind != "footnote" for p in index.passages_of(d.doc_id)),
        ]
        for d in index.documents()
    ]


def _ask_inputs(gr: Any, index: AskIndex, balance: tuple[BalanceRow, ...], examples, limit: int):
    """Question box, Ask button, examples, filters and the 'nearest anyway' switch."""
    with gr.Row():
        question = gr.Textbox(
            label="Question",
            placeholder="Ask a question about the corpus and press Enter",
            max_length=limit,  # UI only: the engine enforces the limit itself
            lines=1,
            scale=5,
            elem_id="ac-question",
            autoscroll=False,
        )
        ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="ac-ask")
    if examples:
        gr.Examples([[q] for q in examples], inputs=[question], label="Examples")
    with gr.Accordion("Filters", open=False), gr.Row():
        sides = gr.Dropdown(
            [(row.label, row.perspective) for row in balance],
            value=[],
            multiselect=True,
            allow_custom_value=False,
            label="Only these perspectives",
        )
        docs = gr.Dropdown(
            [(d.title, d.doc_id) for d in index.documents()],
            value=[],
            multiselect=True,
            allow_custom_value=False,
            label="Only these documents",
        )
        k = gr.Slider(1, 20, value=5, step=1, label="Passages per answer")
    nearest = gr.Checkbox(
        False,
        label="When there is no answer, show the nearest passages anyway "
        "(they do not answer the question)",
        elem_id="ac-show-nearest",
    )
    return question, ask_button, sides, docs, k, nearest


def _corpus_tab(gr: Any, index: AskIndex, balance, perspectives) -> None:
    gr.Dataframe(
        _document_rows(index),
        headers=["title", "publisher", "date", "kind", "perspective", "passages"],
        datatype=["str", "str", "str", "str", "str", "number"],  # plain text, never markdown
        interactive=False,
        wrap=True,
        # The title takes the room it needs; the short columns stay on screen beside it.
        column_widths=["38%", "20%", "10%", "11%", "13%", "8%"],
        label="Documents",
        elem_id="ac-documents",
    )
    gr.HTML(render.balance_html(balance, perspectives), js_on_load=None)


def build_app(index: AskIndex, *, max_question_chars: int = 2000,
              concurrency: int = ENGINE_CONCURRENCY, gate: Gate | None = None) -> gr.Blocks:
    """The askcorpus web app over an open index (the UI holds no retrieval logic);
    ``concurrency`` questions are answered at once (benchmarks/load.py compares settings),
    through ``gate`` when the server shares one with its JSON API (``serve`` does).

    Example:
        >>> app = build_app(askcorpus.open("index"))  # doctest: +SKIP
        >>> app.queue(max_size=64, default_concurrency_limit=1)  # doctest: +SKIP
        >>> app.launch(**launch_options(blocked_paths=["seeds", "index"]))  # doctest: +SKIP
    """
    gr = _gradio()
    gate = gate or Gate(concurrency)
    exports = _Exports()
    perspectives = dict(index.perspectives)
    balance = index.balance()  # its rows are the perspectives the corpus actually holds
    # From the catalog's `examples`, or inferred from the corpus itself (inference.py): a
    # corpus about something else never offers questions about the seed corpus.
    examples = tuple(getattr(index, "examples", ()) or ())

    def answer_view(q: str, sides: list[str], docs: list[str], n: int, nearest: bool):
        answer = index.ask(q or "", k=n, perspectives=sides or None, documents=docs or None)
        md_path, json_path = exports.write(answer)
        choices = _citation_choices(answer)
        return (
            render.answer_html(answer, perspectives, show_nearest=nearest),
            answer,
            gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
            gr.DownloadButton(value=md_path, visible=True),
            gr.DownloadButton(value=json_path, visible=True),
            "",
        )

    async def on_ask(q: str, sides: list[str], docs: list[str], n: int, nearest: bool):
        try:
            return await gate.run(partial(answer_view, q, sides, docs, n, nearest))
        except AskcorpusError as e:
            # A refused question (empty, too long...) or a busy server replaces the previous
            # answer with one plain message; a pop-up over a stale answer would read as an
            # answer to it.
            return (
                _message_html(str(e)),
                None,
                gr.Dropdown(choices=[], value=None),
                gr.DownloadButton(value=None, visible=False),
                gr.DownloadButton(value=None, visible=False),
                "",
            )

    def on_nearest(answer: Answer | None, nearest: bool) -> str:
        if answer is None:
            return ""
        return render.answer_html(answer, perspectives, show_nearest=nearest)

    async def ask(question: str, k: int = 5, perspectives: list[str] | None = None) -> dict:
        """Ask the corpus; returns the answer as JSON (see Answer.to_dict)."""
        return await _ask(gate, index, question, k, perspectives)

    with gr.Blocks(title="askcorpus", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        state = gr.State(None)
        gr.Markdown("## askcorpus — what do the sources say, and who says it?")
        with gr.Tab("Ask"):
            question, ask_button, sides, docs, k, nearest = _ask_inputs(
                gr, index, balance, examples, max_question_chars
            )
            answer_out = gr.HTML(elem_id="ac-answer", js_on_load=None)
            with gr.Row():
                md_button = gr.DownloadButton("Export answer.md", visible=False, size="sm")
                json_button = gr.DownloadButton("Export answer.json", visible=False, size="sm")
            with gr.Row():
                cited = gr.Dropdown(
                    [], label="Show a cited passage in its document", scale=4, elem_id="ac-cited"
                )
                show_button = gr.Button("Show in document", scale=1, elem_id="ac-show-doc")
            document_out = gr.HTML(elem_id="ac-document", js_on_load=SCROLL_JS)
        with gr.Tab("Corpus"):
            _corpus_tab(gr, index, balance, perspectives)

        gr.on(
            [ask_button.click, question.submit],
            on_ask,
            inputs=[question, sides, docs, k, nearest],
            outputs=[answer_out, state, cited, md_button, json_button, document_out],
            api_visibility="private",
            concurrency_id=ENGINE,
            concurrency_limit=concurrency,
        )
        nearest.change(on_nearest, [state, nearest], answer_out, api_visibility="private")
        show_button.click(_show_document, [state, cited], document_out, api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_id=ENGINE, concurrency_limit=concurrency)
    return app


def _show_document(answer: Answer | None, n: int | None) -> str:
    """The cited passage's whole document, the passage marked (``#ac-target``)."""
    if answer is None or n is None or not 1 <= int(n) <= len(answer.citations):
        return ""
    c = answer.citation(int(n))
    return render.document_html(c.document, c.passage.start, c.passage.end)


def launch_options(
    *, blocked_paths: list[str], host: str = "127.0.0.1", port: int = 7860
) -> dict[str, Any]:
    """The hardened ``launch()`` settings of RELIABILITY.md (d), for any caller of build_app."""
    return {
        "server_name": host,
        "server_port": port,
        "share": False,
        "show_error": False,  # internal errors reach the client as a generic message only
        "max_file_size": "1mb",  # the app takes no uploads; the route exists anyway
        "allowed_paths": [],
        "blocked_paths": [str(Path(p).resolve()) for p in blocked_paths],
        "enable_monitoring": False,
        "strict_cors": True,
        "footer_links": [],
        "mcp_server": False,
        "ssr_mode": False,
        "pwa": False,
        "run_history": False,
        "max_threads": 16,
        "state_session_capacity": 1000,
        "css": render.CSS,
        "theme": _theme(),
    }


def _theme() -> Any:
    gr = _gradio()
    return gr.themes.Default(font=FONT_STACK, font_mono=MONO_STACK)


def serve(
    index: AskIndex,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    blocked_paths: list[str],
    warm: bool = True,
    concurrency: int = ENGINE_CONCURRENCY,
) -> None:
    """Serve the web UI until interrupted; ``blocked_paths`` should name the corpus and index.

    Example:
        >>> serve(askcorpus.open("index"), blocked_paths=["seeds", "index"])  # doctest: +SKIP
    """
    if warm:
        # The engine loads its model on the first question (seconds): pay that before the port
        # opens, so the first visitor does not wait and "listening" means "ready".
        print("Loading the model…", file=sys.stderr, flush=True)
        index.ask(WARM_UP_QUESTION)
    limit = getattr(getattr(index, "settings", None), "max_question_chars", 2000)
    # One gate for the UI and the JSON API: `concurrency` asks at a time, whichever door.
    gate = Gate(concurrency)
    app = build_app(index, max_question_chars=limit, concurrency=concurrency, gate=gate)
    app.queue(max_size=MAX_WAITING, default_concurrency_limit=1)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (service managers, tests) shuts down like Ctrl-C: Gradio closes the server
        # and the export folder is removed, instead of the process dying mid-way.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    # quiet: Gradio's own banner suggests share=True, which this server must never use.
    # The JSON API's routes go in when Gradio creates its app, ahead of Gradio's own routes
    # and under the same middleware (strict CORS) and launch options.
    app.launch(prevent_thread_lock=True, quiet=True,
               app_kwargs={"routes": http_api.routes(index, gate, max_question_chars=limit)},
               **launch_options(blocked_paths=blocked_paths, host=host, port=port))
    documents = len(index.documents())
    print(f"askcorpus is serving {documents} documents at http://{host}:{port}/ and its JSON "
          f"API at http://{host}:{port}/api/ask (press Ctrl-C to stop).", flush=True)
    app.block_thread()
