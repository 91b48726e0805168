"""Servers for benchmarks/load.py, each launched with the hardened options and queue settings of
``askcorpus serve``, so that the differences between their rates are what their handlers cost:

- ``noop``: an ``ask`` API that returns at once (Gradio's own queue and HTTP overhead);
- ``noop-json``: the same bare app with askcorpus's JSON API (``http_api.routes``, the gate
  included) over an index whose ask returns at once: the framework's cost of ``POST /api/ask``;
- ``search``: an ``ask`` API that encodes the question and runs one FAISS search of the index,
  the physical floor of answering (the work no answer can skip);
- ``search-ui``: the real askcorpus app (``ui.serve``, every UI block) whose index only encodes
  and searches: the floor of askcorpus serve, since Gradio builds a session of every block of an
  app for each API call (~3 ms for the UI's 33 blocks, ~0.1 ms for a bare app's 2);
- ``askcorpus``: the real app (``ui.serve``), here so that another concurrency can be measured.

``search-ui`` and ``askcorpus`` serve the JSON API too (``ui.serve`` adds it), so benchmarks/
load.py measures their ``POST /api/ask`` as well as their Gradio ``ask``.

    python benchmarks/apps.py noop --port 7861 [--concurrency 2]
    python benchmarks/apps.py noop-json --port 7864
    python benchmarks/apps.py search --index INDEX --port 7862
    python benchmarks/apps.py search-ui --index INDEX --corpus seeds --port 7863
    python benchmarks/apps.py askcorpus --index INDEX --corpus seeds --concurrency 1
"""

from __future__ import annotations

import argparse
import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from askcorpus.ui import ENGINE_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("handler",
                        choices=["noop", "noop-json", "search", "search-ui", "askcorpus"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7861)
    parser.add_argument("--index", default=None, help="index folder (search, askcorpus)")
    parser.add_argument("--corpus", default="seeds", help="corpus folder (askcorpus)")
    parser.add_argument("--concurrency", type=int, default=ENGINE_CONCURRENCY)
    args = parser.parse_args()
    if args.handler in ("askcorpus", "search-ui"):
        import askcorpus
        from askcorpus import ui

        index = askcorpus.open(args.index)
        ui.serve(index if args.handler == "askcorpus" else SearchOnly(index), host=args.host,
                 port=args.port, blocked_paths=[args.corpus, args.index],
                 concurrency=args.concurrency)
    else:
        _bare(args)


class NoAnswer:
    """An index as the JSON API sees it, whose ``ask`` returns at once (the no-op baseline)."""

    generation = "noop"

    def ask(self, question: str, k: int = 5, *, perspectives: list[str] | None = None,
            documents: list[str] | None = None) -> Any:
        from askcorpus.types import Answer

        return Answer(question, "no_answer")

    def documents(self) -> tuple:
        return ()


class SearchOnly:
    """An index as the UI sees it, whose ``ask`` only encodes and searches (no answer logic)."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self.perspectives, self.examples = index.perspectives, index.examples
        self.settings = index.settings

    def ask(self, question: str, k: int = 5, perspectives: list[str] | None = None,
            documents: list[str] | None = None) -> Any:
        from askcorpus.types import Answer

        self._index.retriever.dense.top(self._index.encode_query(question), k)
        return Answer(question, "no_answer")

    @property
    def generation(self) -> str:
        return self._index.generation

    def documents(self) -> Any:
        return self._index.documents()

    def passages_of(self, doc_id: str) -> Any:
        return self._index.passages_of(doc_id)

    def balance(self) -> Any:
        return self._index.balance()


def _bare(args: argparse.Namespace) -> None:
    """A bare Gradio app whose ``ask`` does nothing, or only the encode + FAISS search; with
    ``noop-json``, askcorpus's JSON API beside it over an index whose ask does nothing."""
    import gradio as gr

    from askcorpus import http_api
    from askcorpus.gate import Gate
    from askcorpus.ui import ENGINE, launch_options

    if args.handler == "search":
        import askcorpus

        index = askcorpus.open(args.index)
        index.encode_query("Load the model before the port opens.")

    def ask(question: str, k: int = 5, perspectives: list[str] | None = None) -> dict:
        """No answer logic: what Gradio costs (noop), plus the floor of answering (search)."""
        if args.handler in ("noop", "noop-json"):
            return {"question": question, "status": "no_answer", "citations": []}
        rows, scores = index.retriever.dense.top(index.encode_query(question), k)
        return {"question": question, "status": "no_answer",
                "citations": [{"row": int(r), "score": float(s)}
                              for r, s in zip(rows, scores, strict=True)]}

    with gr.Blocks(title=args.handler, analytics_enabled=False,
                   delete_cache=(3600, 3600)) as app:
        gr.Markdown(f"{args.handler} baseline")
        gr.api(ask, api_name="ask", concurrency_id=ENGINE, concurrency_limit=args.concurrency)
    app.queue(max_size=64, default_concurrency_limit=1)
    options = launch_options(blocked_paths=[], host=args.host, port=args.port)
    options.pop("css", None)
    if args.handler == "noop-json":
        options["app_kwargs"] = {"routes": http_api.routes(NoAnswer(), Gate(args.concurrency))}
    app.launch(**options)


if __name__ == "__main__":
    main()
