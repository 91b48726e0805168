"""An Answer as JSON text: one serialiser for `ask --json`, answer.json and the HTTP API."""

from __future__ import annotations

import json

from askcorpus.types import Answer


def to_json(answer: Answer, *, indent: int | None = 2) -> str:
    """``Answer.to_dict()`` as JSON, non-ASCII kept as is (quotes stay readable verbatim).

    ``indent=None`` gives one compact line, for the wire; the default is for people and files.
    """
    return json.dumps(answer.to_dict(), ensure_ascii=False, indent=indent)
