"""ONNX query encoder: the sentence model exported once, then run with tokenizers + onnxruntime.

Answering a question needs one query vector. With sentence-transformers that costs importing
torch (about 6 s of a cold start, DESIGN.md); this module gives the same vectors (cosine ≥ 0.999
to the PyTorch ones, tested) from an ONNX graph that ``export_onnx`` writes once, offline, from the
model folder. Importing this module and encoding with an exported model never imports torch:
only ``export_onnx`` does (through ``torch.onnx``, which also needs the ``onnx`` package).

The exported graph is the whole sentence-transformers pipeline of a mean-pooled model
(Reimers & Gurevych, *Sentence-BERT*, EMNLP 2019): the transformer, the mean of the token
vectors under the attention mask, and L2 normalisation, so ``encode`` returns unit vectors.

An export folder holds ``model.onnx``, optionally ``model-int8.onnx`` (dynamic int8
quantization of the MatMul weights), the model's ``tokenizer.json``, and ``export.json``
(written last) naming the model, its revision and the settings used.

Example::

    folder = export_onnx("all-MiniLM-L6-v2", cache_dir=Path("~/.cache/askcorpus/onnx"))
    encoder = OnnxEncoder(folder)
    vectors = encoder.encode(["Who closed the Lachin corridor?"])   # (1, 384) float32, unit rows
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.embedding import HASH_PREFIX, resolve_model
from askcorpus.errors import AskcorpusError
from askcorpus.settings import DEFAULT_MODEL
from askcorpus.storage import fsync_path

EXPORT_FORMAT = 1
OPSET = 17
MODEL_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/askcorpus/onnx`` (``~/.cache/askcorpus/onnx`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "askcorpus" / "onnx"


def export_folder(name: str = DEFAULT_MODEL, *, cache_dir: Path) -> Path:
    """Where the export of model ``name`` lives under ``cache_dir`` (it may not exist yet).

    The folder name carries a key of the model's resolved path and revision (and, for a local
    folder, its weights' size and modification time), so a changed model gets a new export.
    """
    path, revision = resolve_model(name)
    key = f"{path}|{revision}"
    if revision == "local":
        weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
        key += "|" + "|".join(f"{w.name}:{w.stat().st_size}:{w.stat().st_mtime_ns}"
                              for w in weights)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(cache_dir).expanduser() / f"{path.name if revision == 'local' else name}-{digest}"


def is_exported(folder: Path, *, quantized: bool = False) -> bool:
    """Whether ``folder`` holds a complete export (with the int8 model when ``quantized``)."""
    meta = _read_meta(folder)
    return (meta is not None and meta.get("format") == EXPORT_FORMAT
            and (folder / MODEL_FILE).is_file() and (folder / TOKENIZER_FILE).is_file()
            and (not quantized or (meta.get("int8") and (folder / INT8_FILE).is_file())))


def export_onnx(name: str = DEFAULT_MODEL, *, cache_dir: Path, quantize: bool = False) -> Path:
    """Export model ``name`` to ONNX under ``cache_dir`` once; return the export folder.

    Offline: the weights come from the packaged model (or a local sentence-transformers
    folder), never from the network. Needs torch, transformers and onnx (build-time only).
    Safe against crashes and concurrent exports: the folder is written as a sibling temp
    folder, ``export.json`` last, then renamed; an existing complete export is reused.

    Args:
        name: ``all-MiniLM-L6-v2`` (the packaged model) or a local model folder.
        cache_dir: the folder that holds exports, e.g. ``default_cache_dir()`` or a folder
            next to the index. Never the model's own (site-packages) folder.
        quantize: also write ``model-int8.onnx`` (dynamic int8 quantization).
    """
    folder = export_folder(name, cache_dir=cache_dir)
    if is_exported(folder, quantized=quantize):
        return folder
    if not is_exported(folder):
        model_path, revision = resolve_model(name)
        max_length, dim = _check_model(model_path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
        try:
            _export_graph(model_path, tmp / MODEL_FILE)
            shutil.copyfile(model_path / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
            _write_json(tmp / META_FILE, {
                "format": EXPORT_FORMAT, "name": name, "revision": revision, "dim": dim,
                "max_seq_length": max_length, "opset": OPSET, "pooling": "mean",
                "normalize": True, "int8": False})
            fsync_path(tmp)
            _install(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if quantize and not is_exported(folder, quantized=True):
        _add_int8(folder)
    return folder


class OnnxEncoder:
    """The exported model run with tokenizers + onnxruntime: the ``embedding.Encoder`` protocol.

    ``name`` and ``revision`` are the source model's, so an index built with the PyTorch encoder
    opens with this one; ``backend`` says which graph answers (``onnx`` or ``onnx-int8``).
    onnxruntime sessions may be called from several threads at once.
    """

    def __init__(self, folder: Path, *, quantized: bool = False, threads: int = 1,
                 batch_size: int = 32) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        if not is_exported(folder, quantized=quantized):
            raise AskcorpusError(f"{folder} holds no complete ONNX export"
                                 f"{' with the int8 model' if quantized else ''}; run "
                                 "askcorpus.onnx_encoder.export_onnx(...) first.")
        meta = _read_meta(folder) or {}
        self.name: str = meta["name"]
        self.revision: str = meta["revision"]
        self.dim: int = int(meta["dim"])
        self.backend = "onnx-int8" if quantized else "onnx"
        self.folder = folder
        self._batch_size = batch_size
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        # sentence-transformers pads to the longest text of a batch and truncates at the
        # model's max_seq_length (256 here), not at tokenizer.json's own 128 / fixed padding.
        padding = tokenizer.padding or {}
        tokenizer.no_padding()
        tokenizer.enable_padding(pad_id=padding.get("pad_id", 0),
                                 pad_token=padding.get("pad_token", "[PAD]"))
        tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(folder / (INT8_FILE if quantized else MODEL_FILE)), options,
            providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (``progress`` is accepted, unused).

        Texts are batched by length, as sentence-transformers does, so padding stays short.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start:start + self._batch_size]
            out[rows] = self._run([texts[i].strip() for i in rows])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        (vectors,) = self._session.run(None, {k: feeds[k] for k in self._inputs})
        return vectors


def load_onnx_encoder(name: str = DEFAULT_MODEL, *, cache_dir: Path, quantized: bool = False,
                      threads: int = 1, export: bool = True) -> OnnxEncoder:
    """The ONNX encoder of model ``name``, exporting it first when ``export`` allows.

    With an existing export this never imports torch; exporting does (see ``export_onnx``).
    """
    folder = export_folder(name, cache_dir=cache_dir)
    if not is_exported(folder, quantized=quantized):
        if not export:
            raise AskcorpusError(f"Model '{name}' has no ONNX export in {cache_dir}; build the "
                                 "index (which exports it) or call export_onnx first.")
        folder = export_onnx(name, cache_dir=cache_dir, quantize=quantized)
    return OnnxEncoder(folder, quantized=quantized, threads=threads)


_QUERY_ENCODERS: dict[Path, OnnxEncoder] = {}
_QUERY_LOCK = threading.Lock()


def query_encoder(name: str, *, cache_dir: Path | None = None) -> OnnxEncoder | None:
    """The ONNX encoder of model ``name`` if its export exists, else ``None``; one per process.

    Never exports and never imports torch: the query path of an index whose build exported the
    model (``export_for_build``) runs on onnxruntime alone; without an export the caller falls
    back to sentence-transformers.
    """
    if name.startswith(HASH_PREFIX):
        return None
    try:
        folder = export_folder(name, cache_dir=cache_dir or default_cache_dir())
    except AskcorpusError:
        return None
    with _QUERY_LOCK:
        if folder not in _QUERY_ENCODERS:
            if not is_exported(folder):
                return None
            _QUERY_ENCODERS[folder] = OnnxEncoder(folder)
        return _QUERY_ENCODERS[folder]


def export_for_build(name: str, *, cache_dir: Path | None = None) -> Path | None:
    """Export model ``name`` for the query path once (reused if present); ``None`` when it
    cannot be exported (a test embedder, a model that is not mean-pooled, no onnx package),
    in which case queries use sentence-transformers as before."""
    if name.startswith(HASH_PREFIX):
        return None
    try:
        return export_onnx(name, cache_dir=cache_dir or default_cache_dir())
    except (AskcorpusError, OSError, RuntimeError):
        return None


# ---------------------------------------------------------------------------- export internals
def _check_model(path: Path) -> tuple[int, int]:
    """The max sequence length and dimension of a mean-pooled sentence-transformers folder."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((path / pooling_dir / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, StopIteration, KeyError) as exc:
        raise AskcorpusError(f"{path} is not a sentence-transformers folder with a pooling "
                             f"module ({exc}); use the PyTorch encoder for it.") from exc
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
              and k != "pooling_mode_mean_tokens"]
    if not pooling.get("pooling_mode_mean_tokens") or others:
        raise AskcorpusError(f"{path} does not use mean pooling alone; only mean-pooled models "
                             "are exported to ONNX, use the PyTorch encoder for it.")
    return int(st_config.get("max_seq_length", 512)), int(pooling["word_embedding_dimension"])


def _export_graph(model_path: Path, target: Path) -> None:
    """Trace transformer + mean pooling + L2 normalisation into one ONNX graph."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import onnx  # noqa: F401  (torch.onnx needs it; fail with a clear message)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise AskcorpusError(f"Exporting to ONNX needs torch, transformers and onnx ({exc}); "
                             "pip install 'askcorpus[onnx]'.") from exc

    class Pipeline(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    model = AutoModel.from_pretrained(str(model_path)).eval()
    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS}
    # The tracer warns about Python branches on shapes; the traced ones hold for any batch and
    # length (tests compare padded batches and 256-token texts with PyTorch).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pipeline(model), (sample, sample, torch.zeros_like(sample)),
                          str(target), input_names=list(INPUTS),
                          output_names=["sentence_embedding"],
                          dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    fsync_path(target)


def _add_int8(folder: Path) -> None:
    """Write ``model-int8.onnx`` next to ``model.onnx`` (atomically), then mark it in the meta."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise AskcorpusError(f"int8 quantization needs the onnx package ({exc}); "
                             "pip install 'askcorpus[onnx]'.") from exc
    tmp = folder / f"{INT8_FILE}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        quantize_dynamic(str(folder / MODEL_FILE), str(tmp), weight_type=QuantType.QInt8)
        fsync_path(tmp)
        os.replace(tmp, folder / INT8_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    meta = _read_meta(folder) or {}
    _write_json(folder / f"{META_FILE}.tmp", {**meta, "int8": True})
    os.replace(folder / f"{META_FILE}.tmp", folder / META_FILE)
    fsync_path(folder)


def _install(tmp: Path, folder: Path) -> None:
    """Rename ``tmp`` to ``folder``; if a concurrent export got there first, keep theirs."""
    try:
        os.rename(tmp, folder)
    except OSError:
        if not is_exported(folder):
            shutil.rmtree(folder, ignore_errors=True)  # a stale, incomplete export
            os.rename(tmp, folder)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    fsync_path(folder.parent)


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    fsync_path(path)

