"""Rendering: an Answer as terminal text, a Markdown export, escaped HTML for the web UI, or JSON.

One module per output (``text``, ``markdown``, ``html``, ``data``), the shared wording in
``common``; this package depends only on ``askcorpus.types``.
"""

from askcorpus.render.common import escape, safe_url, status_line
from askcorpus.render.data import to_json
from askcorpus.render.html import CSS, answer_html, balance_html, document_html, safe_link
from askcorpus.render.markdown import md_escape, to_markdown
from askcorpus.render.text import to_text

__all__ = [
    "CSS",
    "answer_html",
    "balance_html",
    "document_html",
    "escape",
    "md_escape",
    "safe_link",
    "safe_url",
    "status_line",
    "to_json",
    "to_markdown",
    "to_text",
]
