"""The command line: parse flags, call one API function, render, turn known errors into exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from askcorpus.errors import (
    AskcorpusError,
    CorpusError,
    IncompleteIndexError,
    IndexNotFoundError,
    StaleIndexError,
)

DEFAULT_INDEX = "index"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "corpus", "") is None:
        from askcorpus.corpus import SEED_CORPUS

        args.corpus = str(SEED_CORPUS)  # the seed corpus shipped with askcorpus
    try:
        return int(args.run(args) or 0)
    except AskcorpusError as exc:
        print(f"Error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="askcorpus", description=(
        "Answers from a document corpus, only as verbatim cited passages, every side shown."))
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build or rebuild the index of a corpus")
    _corpus_index(build)
    build.add_argument("--model", default=None, help="sentence-transformers model name or folder")
    build.add_argument("--strict", action="store_true", help="fail on files not in the catalog")
    build.set_defaults(run=_build)

    ask = commands.add_parser("ask", help="ask the corpus a question")
    ask.add_argument("question")
    _corpus_index(ask)
    ask.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
    ask.add_argument("--perspective", action="append", default=None,
                     help="only passages of this perspective (repeatable)")
    ask.add_argument("--document", action="append", default=None,
                     help="only passages of this document id (repeatable)")
    ask.add_argument("--model", default=None,
                     help="refuse the index unless it was built with this model")
    ask.add_argument("--allow-model-mismatch", action="store_true",
                     help="query with --model even though the index was built with another")
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    output.add_argument("--markdown", action="store_true", help="print the Markdown export")
    ask.set_defaults(run=_ask)

    serve = commands.add_parser("serve", help="serve the web UI")
    _corpus_index(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.set_defaults(run=_serve)

    info = commands.add_parser("info", help="documents and the balance of perspectives")
    _corpus_index(info)
    info.set_defaults(run=_info)

    status = commands.add_parser("status", help="which corpus files changed since the build")
    _corpus_index(status)
    status.set_defaults(run=_status)

    evaluate = commands.add_parser("eval", help="evaluate retrieval, sides and abstention")
    _corpus_index(evaluate)
    evaluate.add_argument("--questions", default="eval/questions.jsonl")
    evaluate.add_argument("--benchmark", default=None, help="a Perspectrum folder")
    evaluate.add_argument("--split", default="dev")
    evaluate.add_argument("--limit", type=int, default=None, help="first N questions only")
    evaluate.add_argument("--report", action="store_true", help="regenerate eval/REPORT.md")
    evaluate.set_defaults(run=_eval)
    return parser


def _corpus_index(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default=None,
                        help="corpus folder (default: the seed corpus shipped with askcorpus)")
    parser.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default index)")


def _build(args: argparse.Namespace) -> int:
    from askcorpus.api import build

    if not Path(args.corpus).is_dir():
        raise CorpusError(f"Corpus folder {args.corpus} does not exist; pass --corpus with a "
                          "folder.")
    index = build(args.corpus, args.index, args.model, strict=args.strict, progress=True)
    for warning in index.manifest["corpus"]["warnings"]:
        print(f"Warning: {_one_line(warning)}", file=sys.stderr)
    counts = index.manifest["counts"]
    print(f"Built {args.index} ({index.generation}): {counts['documents']} documents, "
          f"{counts['passages']} passages in {index.manifest['build']['seconds']:.1f} s "
          f"with {index.manifest['model']['name']}.")
    return 0


def open_or_build(corpus: str, index_dir: str, *, log: bool = True, model: str | None = None,
                  allow_model_mismatch: bool = False, rebuild: bool | None = None):
    """Open the index, building it first when it is missing or stale.

    Only the default index (``rebuild=None`` and ``index_dir`` is ``index``) is built on demand:
    a mistyped ``--index`` must not create an index somewhere unexpected, so any other missing
    or stale index raises the error that names ``askcorpus build --index …``.
    """
    from askcorpus.api import build, open_index

    if rebuild is None:
        rebuild = Path(index_dir) == Path(DEFAULT_INDEX)
    try:
        return open_index(index_dir, model=model, allow_model_mismatch=allow_model_mismatch)
    except (IndexNotFoundError, IncompleteIndexError, StaleIndexError) as exc:
        if not rebuild or not Path(corpus).is_dir():
            raise
        if log and _has_documents(corpus):  # else the build's own error is the one line
            what = "changed since the index was built" if isinstance(exc, StaleIndexError) \
                else "has no index yet"
            print(f"The corpus {what}: building {index_dir} from {corpus} (this takes a "
                  "minute the first time)…", file=sys.stderr)
        return build(corpus, index_dir, model, progress=log)


def _has_documents(corpus: str) -> bool:
    from askcorpus.corpus import SUPPORTED

    return any(p.suffix.lower() in SUPPORTED for p in Path(corpus).rglob("*") if p.is_file())


def _ask(args: argparse.Namespace) -> int:
    from askcorpus import render

    index = open_or_build(args.corpus, args.index, model=args.model,
                          allow_model_mismatch=args.allow_model_mismatch)
    answer = index.ask(args.question, k=args.k, perspectives=args.perspective,
                       documents=args.document)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    elif args.markdown:
        print(render.to_markdown(answer))
    else:
        print(render.to_text(answer))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from askcorpus import ui

    index = open_or_build(args.corpus, args.index)
    ui.serve(index, host=args.host, port=args.port,
             blocked_paths=[str(Path(args.corpus).resolve()), str(Path(args.index).resolve())])
    return 0


def _info(args: argparse.Namespace) -> int:
    index = open_or_build(args.corpus, args.index)
    print(f"Index {args.index} ({index.generation}), model {index.manifest['model']['name']}")
    for doc in index.documents():
        count = sum(p.kind != "footnote" for p in index.passages_of(doc.doc_id))
        print(f"  {doc.doc_id:20} {doc.perspective:14} {count:4} passages  {doc.title[:60]}")
    print("Balance (documents / passages by publisher / passages by speaker):")
    for row in index.balance():
        print(f"  {row.label:30} {row.documents:3} / {row.passages_by_publisher:5} / "
              f"{row.passages_by_speaker:5}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from askcorpus.api import open_index

    index = open_index(args.index, check_stale=False)
    changed = index.changed_files()
    if not changed:
        print(f"{args.index} ({index.generation}) is up to date with its corpus.")
        return 0
    print(f"{args.index} ({index.generation}) is stale; changed since the build:")
    for path in changed:
        print(f"  {path}")
    print(f"Run `askcorpus build --index {args.index}` to update it.")
    return 1


def _eval(args: argparse.Namespace) -> int:
    from askcorpus import evaluation

    return evaluation.run_cli(args)


def _one_line(text: str) -> str:
    return " ".join(repr(text)[1:-1].split()) if any(ord(c) < 32 for c in text if c != "\n") \
        else " ".join(text.split())


if __name__ == "__main__":
    raise SystemExit(main())
