"""The JSON HTTP API of ``askcorpus serve``: ``POST /api/ask`` and ``GET /api/health``.

A thin layer over ``Index.ask`` beside the web UI, for programs that want one plain JSON call
instead of Gradio's two-step event API (and its per-call session of every UI block):

- ``POST /api/ask`` with ``{"question": str, "k": int = 5, "perspectives": [id, ...],
  "documents": [doc_id, ...]}`` answers 200 with the answer's JSON, the data that
  ``askcorpus ask --json`` prints (``render.to_json``, on one line);
- ``GET /api/health`` answers 200 with the index generation being served;
- bad input answers 4xx with ``{"error": "<one sentence that says what to do>"}``, an
  overloaded server 503 with ``Retry-After``, an internal failure 500 with a generic sentence
  (the details go to the server log, never to the client).

Questions pass the same :class:`~askcorpus.gate.Gate` as the web UI's, so the server answers
``slots`` questions at a time whichever door they come in by. The routes are Starlette routes
added to Gradio's own app (``launch(app_kwargs=...)``), so its hardened launch options and
strict CORS apply to them too.

    curl -s http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
         -d '{"question": "Were civilians attacked?", "k": 3}'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from askcorpus import render
from askcorpus.errors import QuestionError, ServerBusyError
from askcorpus.types import Answer, Document

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from askcorpus.gate import Gate

__all__ = ["FIELDS", "MAX_BODY_BYTES", "routes"]
FIELDS = ("question", "k", "perspectives", "documents")
# A body cap well above any valid request (a 2000-character question with every character
# written as a \u escape is 12 KB; filters are a few ids), checked before the body is read.
MAX_BODY_BYTES = 64 * 1024
EXAMPLE = '{"question": "Were civilians attacked?"}'
INTERNAL = "The server failed to answer this question; its log has the details, please report it."
log = logging.getLogger(__name__)


class AskEngine(Protocol):
    """What the JSON API needs from ``askcorpus.api.Index``."""

    @property
    def generation(self) -> str: ...

    def ask(self, question: str, k: int = 5, *, perspectives: list[str] | None = None,
            documents: list[str] | None = None) -> Answer: ...

    def documents(self) -> tuple[Document, ...]: ...


class Refusal(Exception):
    """A request refused before it reaches the engine: its HTTP status and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class AskRequest:
    """The fields of a ``POST /api/ask`` body; the engine validates their values."""

    question: Any
    k: Any = 5
    perspectives: list[str] | None = None
    documents: list[str] | None = None


def routes(index: AskEngine, gate: Gate, *, max_question_chars: int = 2000) -> list[Route]:
    """The API's routes over an open index, for ``gr.Blocks.launch(app_kwargs={"routes": ...})``.

    Example:
        >>> app.launch(app_kwargs={"routes": routes(index, Gate(1))})  # doctest: +SKIP
    """
    from starlette.routing import Route

    async def ask(request: Request) -> Response:
        try:
            fields = parse(await read_body(request, max_question_chars))
            answer = await gate.run(partial(
                index.ask, fields.question, k=fields.k, perspectives=fields.perspectives,
                documents=fields.documents))
        except Refusal as refusal:
            return error(refusal.status, refusal.message)
        except QuestionError as exc:
            return error(400, str(exc))
        except ServerBusyError as exc:
            return error(503, str(exc), {"Retry-After": "1"})
        except Exception:  # a bug or a server fault: logged in full here, one sentence out
            log.exception("POST /api/ask failed")
            return error(500, INTERNAL)
        return _json_response(render.to_json(answer, indent=None))

    async def health(request: Request) -> Response:
        return _json_response(json.dumps({
            "status": "ok", "generation": index.generation,
            "documents": len(index.documents()), "waiting": gate.waiting}))

    return [Route("/api/ask", _only("POST", ask), methods=_METHODS),
            Route("/api/health", _only("GET", health), methods=_METHODS)]


# Every method reaches the endpoint, so that a wrong one gets a JSON 405 like every other error.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _only(method: str, endpoint: Callable[[Request], Awaitable[Response]]):
    async def checked(request: Request) -> Response:
        if request.method != method and not (method == "GET" and request.method == "HEAD"):
            return error(405, f"Use {method} for {request.url.path}.", {"Allow": method})
        return await endpoint(request)

    return checked


async def read_body(request: Request, max_question_chars: int) -> bytes:
    """The request body, refused unless it is JSON and at most MAX_BODY_BYTES long."""
    from starlette.requests import ClientDisconnect

    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Refusal(415, "Send the question as JSON with the header "
                           "Content-Type: application/json.")
    too_big = Refusal(413, f"The request body is over {MAX_BODY_BYTES} bytes; send a question "
                           f"of at most {max_question_chars} characters.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big  # refused before reading: the server discards the rest unread
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refusal(400, "The request body was cut off; send it again.") from None
    return b"".join(chunks)


def parse(body: bytes) -> AskRequest:
    """The fields of a request body, or a Refusal that says what a valid body looks like."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8 (ValueError), or absurd nesting
        raise Refusal(400, f"The request body is not valid JSON; send an object such as "
                           f"{EXAMPLE}.") from None
    if not isinstance(data, dict):
        raise Refusal(400, f"The request body must be a JSON object such as {EXAMPLE}.")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        name = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise Refusal(400, f"Unknown field {json.dumps(name, ensure_ascii=False)}; the fields "
                           f"are {', '.join(FIELDS)}.")
    if "question" not in data:
        raise Refusal(400, f"Send the question in the \"question\" field, as in {EXAMPLE}.")
    return AskRequest(data["question"], data.get("k", 5),
                      _ids(data.get("perspectives"), "perspectives", '["armenian"]'),
                      _ids(data.get("documents"), "documents", '["doc-id"]'))


def _ids(value: Any, field: str, example: str) -> list[str] | None:
    """A filter as a list of ids (None or [] means no filter); the engine checks each id."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refusal(400, f"\"{field}\" must be a list of ids such as {example}, or left out.")
    return value


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": message}`` with ``status``: the one shape of every refusal."""
    return _json_response(json.dumps({"error": message}, ensure_ascii=False), status, headers)


def _json_response(text: str, status: int = 200,
                   headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import Response

    return Response(text, status, headers, media_type="application/json")
