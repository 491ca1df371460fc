"""Writing a run's outputs: whole or not at all (a temporary folder, renamed into place at the end)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from optimizer.pipeline import RunResult


@contextmanager
def atomic_folder(out: str | Path):
    """Yield a temporary folder beside `out`; on success it replaces `out`, on error it is removed."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the output folder follows the umask
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def _clean(o):
    """NaN/inf -> None so that summary.json is strict JSON."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def write_summary(result: RunResult, folder: Path) -> None:
    (folder / "summary.json").write_text(
        json.dumps(_clean(result.summary()), indent=2, default=_json_default, ensure_ascii=False) + "\n",
        encoding="utf-8")


def write_tables(result: RunResult, folder: Path) -> None:
    if result.plan is None:
        return
    result.plan.assignment.to_csv(folder / "assignment.csv", index=False, float_format="%.6f")
    k = result.kpis
    if k:
        import pandas as pd

        pd.DataFrame(k["by_industry"]).to_csv(folder / "by_industry.csv", index=False, float_format="%.6f")
        pd.DataFrame(k["by_subarea"]).to_csv(folder / "by_subarea.csv", index=False, float_format="%.6f")


Writer = Callable[[RunResult, Path], None]


def default_writers(figures: bool = True) -> list[Writer]:
    writers: list[Writer] = [write_summary, write_tables]
    if figures:
        from optimizer.report import extra_writers

        writers += extra_writers()
    return writers


def write_outputs(result: RunResult, out: str | Path, writers: Iterable[Writer] | None = None,
                  figures: bool = True) -> Path:
    """Write every output of a run into `out` atomically; returns the folder."""
    writers = list(writers) if writers is not None else default_writers(figures)
    with atomic_folder(out) as tmp:
        for w in writers:
            w(result, tmp)
    return Path(out)
