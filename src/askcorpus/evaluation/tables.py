"""Tables: the figures of an evaluation as aligned text or Markdown, and the machine they ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

import numpy as np


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None

def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}

def fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}" if metric.endswith("_ms") else f"{value:.3f}"
    return str(value)

def table(columns: dict[str, dict[str, Any]], metrics: Sequence[str],
          markdown: bool = False) -> str:
    """Rows = metrics, columns = configurations (plain text or Markdown)."""
    names = list(columns)
    rows = [[m, *(fmt(columns[c].get(m), m) for c in names)] for m in (*metrics, "n")]
    if markdown:
        lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])
    widths = [max(len(x) for x in col) for col in zip(["metric", *names], *rows, strict=True)]
    lines = [["metric", *names], *rows]
    return "\n".join("  ".join(x.ljust(w) if i == 0 else x.rjust(w)
                               for i, (x, w) in enumerate(zip(line, widths, strict=True)))
                     for line in lines)
