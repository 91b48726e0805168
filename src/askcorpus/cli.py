"""The command line: parse flags, call one API function, render, turn known errors into exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from askcorpus.errors import AskcorpusError, CorpusError

if TYPE_CHECKING:
    from askcorpus.api import Index

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
    build.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="split and embed here (local) or as a Ray Data job (ray)")
    build.add_argument("--ray-address", default=None,
                       help="a Ray cluster's head (host:port or ray://host:10001); "
                            "default: a local Ray")
    build.add_argument("--store", choices=("faiss", "milvus"), default=None,
                       help="what serves dense search: FAISS in the index, or Milvus "
                            "(default: the index's store, else faiss)")
    build.add_argument("--milvus-uri", default=None,
                       help="a Milvus server (http://host:19530) or milvus-lite folder; "
                            "default: milvus-lite inside the index")
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

    train = commands.add_parser("train", help="retrain the learned decisions from questions")
    _corpus_index(train)
    train.add_argument("--questions", default="train/questions.jsonl",
                       help="training questions (never the evaluation set)")
    train.add_argument("--off-topic", default="train/off_topic.jsonl",
                       help="questions the corpus cannot answer at all (taught to abstain)")
    train.add_argument("--perspectrum", default="../shared/perspectrum",
                       help="a Perspectrum folder whose train claims teach relevance "
                            "('' to leave it out)")
    train.add_argument("--out", default=None,
                       help="folder for the models (default: the package's models/)")
    train.add_argument("--encoder", action="store_true",
                       help="first fine-tune the encoder's low-rank factors (minutes; needs "
                            "sentence-transformers[train]), then rebuild the index with them")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("eval", help="evaluate retrieval, sides and abstention")
    _corpus_index(evaluate)
    evaluate.add_argument("--questions", default="eval/questions.jsonl")
    evaluate.add_argument("--benchmark", default=None, help="a Perspectrum folder")
    evaluate.add_argument("--split", default="dev")
    evaluate.add_argument("--limit", type=int, default=None, help="first N questions only")
    evaluate.add_argument("--report", action="store_true", help="regenerate eval/REPORT.md")
    evaluate.add_argument("--train-questions", default="train/questions.jsonl",
                          help="training questions, for the cross-validation line")
    evaluate.add_argument("--off-topic", default="train/off_topic.jsonl",
                          help="off-topic training questions, added to every fold's training")
    evaluate.add_argument("--train-perspectrum", default="../shared/perspectrum",
                          help="Perspectrum folder whose train claims join every fold's training")
    evaluate.add_argument("--no-cv", action="store_true", help="skip cross-validation")
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
    index = build(args.corpus, args.index, args.model, strict=args.strict, progress=True,
                  engine=args.engine, ray_address=args.ray_address, store=args.store,
                  milvus_uri=args.milvus_uri)
    manifest = index.manifest
    for warning in manifest.corpus.warnings:
        print(f"Warning: {_one_line(warning)}", file=sys.stderr)
    print(f"Built {args.index} ({index.generation}): {manifest.counts.documents} documents, "
          f"{manifest.counts.passages} passages in {manifest.build_seconds:.1f} s "
          f"with {manifest.model.name} ({manifest.engine} engine, {manifest.store.kind} store).")
    _print_inferred(Path(args.corpus), index)
    return 0


def _print_inferred(corpus: Path, index: Index) -> None:
    """What the catalog does not declare and askcorpus read from the files themselves."""
    from askcorpus.catalog import load_catalog

    catalog = load_catalog(corpus)
    inferred = [d for d in index.documents() if catalog.entry_for(d.path) is None
                and not d.path.endswith(".jsonl")]  # a JSONL row states its own metadata
    if not inferred:
        return
    print(f"Inferred from the files ({len(inferred)} documents not in catalog.toml):")
    for doc in inferred[:20]:
        known = ", ".join(f"{k} {v!r}" for k, v in (("title", doc.title), ("date", doc.date),
                                                      ("publisher", doc.publisher)) if v)
        print(f"  {doc.path}: {known}")
    if len(inferred) > 20:
        print(f"  … and {len(inferred) - 20} more")
    print(f"To correct or complete them, declare them in {corpus / 'catalog.toml'}:\n"
          f'  [[documents]]\n  file = "{inferred[0].path}"\n  title = "…"\n'
          '  publisher = "…"\n  date = "YYYY-MM-DD"\n  perspective = "…"')


def _open(args: argparse.Namespace, **options: object) -> Index:
    """The index of ``--index``; only the default one is built on demand from ``--corpus``.

    A mistyped ``--index`` must not create an index somewhere unexpected, so any other missing
    or stale index raises the error that names ``askcorpus build --index …``.
    """
    from askcorpus.api import open_index

    default = Path(args.index) == Path(DEFAULT_INDEX)
    return open_index(args.index, rebuild_from=args.corpus if default else None, log=True,
                      **options)  # type: ignore[arg-type]


def _ask(args: argparse.Namespace) -> int:
    from askcorpus import render

    index = _open(args, model=args.model, allow_model_mismatch=args.allow_model_mismatch)
    answer = index.ask(args.question, k=args.k, perspectives=args.perspective,
                       documents=args.document)
    if args.json:
        print(render.to_json(answer))
    elif args.markdown:
        print(render.to_markdown(answer))
    else:
        print(render.to_text(answer))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from askcorpus import ui

    index = _open(args)
    ui.serve(index, host=args.host, port=args.port,
             blocked_paths=[str(Path(args.corpus).resolve()), str(Path(args.index).resolve())])
    return 0


def _info(args: argparse.Namespace) -> int:
    index = _open(args)
    print(f"Index {args.index} ({index.generation}), model {index.manifest.model.name}")
    for doc in index.documents():
        count = index.view.searchable_count(doc.doc_id)
        print(f"  {doc.doc_id:20} {doc.perspective:14} {count:4} passages  {doc.title[:60]}")
    print("Balance (documents / passages by publisher / passages by speaker):")
    for row in index.balance():
        print(f"  {row.label:30} {row.documents:3} / {row.passages_by_publisher:5} / "
              f"{row.passages_by_speaker:5}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from askcorpus.api import open_index
    from askcorpus.building import plan

    index = open_index(args.index, check_stale=False)
    todo = plan(index.manifest)
    if not (todo.reembed or todo.removed or todo.reread):
        print(f"{args.index} ({index.generation}) is up to date with its corpus.")
        return 0
    print(f"{args.index} ({index.generation}) is stale; changed since the build:")
    for path in todo.reembed:
        print(f"  {path}  (added or edited: its passages will be re-embedded)")
    for path in todo.removed:
        print(f"  {path}  (removed: its passages will be dropped)")
    for path in todo.reread:
        print(f"  {path}  (catalog: speakers and sides are read again, nothing re-embedded)")
    print(f"{todo.unchanged} unchanged file(s) keep their vectors. Run `askcorpus build --index "
          f"{args.index}` to update it.")
    return 1


def _eval(args: argparse.Namespace) -> int:
    from askcorpus.evaluation import report

    return report.run(questions=args.questions, corpus=args.corpus, index=args.index,
                      benchmark=args.benchmark, split=args.split, limit=args.limit,
                      report=args.report,
                      train_questions=None if args.no_cv else args.train_questions,
                      off_topic=args.off_topic, perspectrum_train=args.train_perspectrum)


def _train(args: argparse.Namespace) -> int:
    from askcorpus import training

    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "models"
    index = _open(args)
    if args.encoder:
        from askcorpus import finetune
        from askcorpus.api import build

        if args.out:
            raise CorpusError("--encoder retrains the package's own encoder factors; leave "
                              "out --out (the decision models must match the encoder).")
        finetune.train_encoder(index, args.questions, args.perspectrum or None)
        index = build(args.corpus, args.index, progress=True)  # re-embedded with the factors
    training.train(index, args.questions, out, off_topic=args.off_topic,
                   perspectrum=args.perspectrum or None)
    return 0


def _one_line(text: str) -> str:
    return " ".join(repr(text)[1:-1].split()) if any(ord(c) < 32 for c in text if c != "\n") \
        else " ".join(text.split())


if __name__ == "__main__":
    raise SystemExit(main())
