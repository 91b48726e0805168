"""Baseline for benchmarks/load.py: a bare Gradio app with a no-op ``ask`` API, launched with the
same hardened options and queue settings as ``askcorpus serve``, so the difference between the
two runs is what askcorpus itself costs.

    python benchmarks/noop_app.py --port 7861
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args()

    import gradio as gr

    from askcorpus.ui import launch_options

    def ask(question: str, k: int = 5, perspectives: list[str] | None = None) -> dict:
        """Return at once: measures Gradio's own queue and HTTP overhead."""
        return {"question": question, "status": "no_answer", "citations": []}

    with gr.Blocks(title="noop", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown("no-op baseline")
        gr.api(ask, api_name="ask", concurrency_id="engine")
    app.queue(max_size=64, default_concurrency_limit=1)
    options = launch_options(blocked_paths=[], host=args.host, port=args.port)
    options.pop("css", None)
    app.launch(**options)


if __name__ == "__main__":
    main()
