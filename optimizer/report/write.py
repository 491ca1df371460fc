"""Writing a run's outputs safely: whole or not at all, and never over anything the tool did not write.

One place for `landuse solve`, `compare`, `bench run` and the Python API. Every output folder gets a marker,
`.landuse-output.json` (tool version, time, and the manifest: the entries the tool wrote). The target may be:

- a folder that does not exist yet (created, parents too), or an existing empty folder;
- an earlier output of this tool (it has the marker and holds nothing beyond its manifest): replaced whole.

Anything else is refused (:class:`~optimizer.errors.OutputRefused`, exit code 2) unless `force`: then the outputs
are put beside the user's entries, which are never deleted (and a user entry with an output's name is still
refused). Never allowed, even with `force`: an empty path, the current folder or any folder above it, the
filesystem root, the home folder or any folder above it, a protected (scenario) folder or any folder above it, an
existing file or a symlink to one.

Outputs are written into a temporary sibling folder (`.NAME.landuse-tmp-HOST-PID-XXXX`), then swapped in under
an exclusive lock on the parent folder (so that runs finishing together take turns), with SIGINT and SIGTERM held
back during the swap. Any failure removes the temporary folder and leaves an existing output untouched; a later
run removes temporary folders whose process is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optimizer.errors import OutputRefused
from optimizer.pipeline import RunResult

MARKER = ".landuse-output.json"
TMP_RE = re.compile(r"^\.(?P<name>.*)\.landuse-(?P<kind>tmp|old)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[A-Za-z0-9_]+$")
NAME_MAX = 255
MAX_NAME_IN_TMP = 100  # bytes of the folder name kept in a temporary folder's name (it must fit NAME_MAX)
SOLVE_OUTPUTS = ("summary.json", "assignment.csv", "by_industry.csv", "by_subarea.csv", "marginal_values.csv",
                 "explain.csv", "frontier.csv", "frontier.png", "alternatives", "plan.geojson", "plan_local.geojson",
                 "plan_crs.geojson",
                 "map.png",
                 "access.png", "floor_by_industry.png", "output_by_industry.png", "by_subarea.png",
                 "carriers.png", "phases.csv", "phases.png", "neighbours.csv", "plan.html", "report.html")
HINT_OTHER = "choose a new or empty folder"
HINT_FORCE = "choose a new or empty folder, or pass --force to add the outputs beside its files"


# --- where outputs may go -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutputTarget:
    """A checked output folder. `state`: "missing", "empty", "previous" (an earlier output, replaced whole) or
    "merge" (--force: outputs go beside `foreign`, the entries the tool did not write)."""

    path: Path  # absolute, symlinks resolved
    given: str  # as the caller wrote it, for messages
    state: str
    previous: tuple[str, ...] = ()  # entries an earlier run of the tool wrote (its manifest)
    foreign: tuple[str, ...] = ()

    @property
    def has_previous(self) -> bool:
        return self.state == "previous" or bool(self.previous)


def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else f"{text[:70]}…{text[-40:]}"


def _refuse(given: str, why: str, hint: str = HINT_OTHER) -> OutputRefused:
    return OutputRefused(_short(given), why, hint)


def _os_why(exc: OSError) -> str:
    reasons = {errno.ELOOP: "a symlink loop", errno.ENAMETOOLONG: "a name in the path is too long",
               errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
               errno.ENOTDIR: "a part of the path is a file, not a folder", errno.EROFS: "read-only file system",
               errno.ENOSPC: "no space left on the device"}
    where = f" at {_short(str(exc.filename))}" if exc.filename else ""
    return f"{reasons.get(exc.errno, exc.strerror or str(exc))}{where}"


def resolve_path(p: str | os.PathLike, given: str | None = None) -> Path:
    """Absolute path with symlinks resolved; an unusable path (empty, NUL, loop, too long) is OutputRefused."""
    raw = os.fsdecode(os.fspath(p)) if isinstance(p, (str, bytes, os.PathLike)) else None
    given = given if given is not None else (raw if raw is not None else repr(p))
    if raw is None:
        raise _refuse(given, f"not a path ({type(p).__name__})")
    if not raw.strip():
        raise _refuse(given, "an empty path names no folder", "give a folder name")
    if "\0" in raw:
        raise _refuse(given, "the path holds a NUL byte", "give a folder name without one")
    if any(len(os.fsencode(part)) > NAME_MAX for part in Path(raw).parts):
        raise _refuse(given, f"a name in the path is longer than {NAME_MAX} bytes", "use a shorter name")
    try:
        path = Path(raw) if os.path.isabs(raw) else Path.cwd() / raw
    except OSError as exc:
        raise _refuse(given, f"the current folder is unusable ({_os_why(exc)})", "give an absolute path") from None
    try:
        path = path.resolve()
        os.lstat(path)
    except FileNotFoundError:
        pass
    except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
        raise _refuse(given, "a symlink loop", "fix or remove the symlink") from None
    except OSError as exc:
        raise _refuse(given, _os_why(exc), "choose another folder") from None
    if len(os.fsencode(str(path))) >= 4096:
        raise _refuse(given, "the path is too long", "use a shorter path")
    return path


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, OSError, KeyError):
        return None


def _entries(folder: Path, given: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError as exc:
        raise _refuse(given, f"cannot list it: {_os_why(exc)}", "choose another folder") from None


def read_marker(folder: Path) -> dict | None:
    """The marker of an earlier output (with a clean `manifest` list), None if there is none; ValueError if it
    is there but unreadable."""
    m = folder / MARKER
    if not os.path.lexists(m):
        return None
    if m.is_symlink() or not m.is_file():
        raise ValueError(f"{MARKER} is not a regular file")
    try:
        info = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{MARKER} is unreadable ({exc})") from None
    man = info.get("manifest") if isinstance(info, dict) else None
    if not isinstance(man, list) or not all(isinstance(n, str) for n in man):
        raise ValueError(f"{MARKER} has no manifest list")
    info["manifest"] = [n for n in man if _plain_name(n) and n != MARKER]
    return info


def _plain_name(n: str) -> bool:
    return bool(n) and n not in (".", "..") and "/" not in n and os.sep not in n and "\0" not in n


def check_output_target(out: str | os.PathLike, force: bool = False, protect: Iterable = (),
                        expect: Iterable[str] = ()) -> OutputTarget:
    """Where `out` stands, by the rules in this module's docstring; OutputRefused if it may not be written.

    `protect`: folders (scenario folders) that the output may neither be nor contain. `expect`: output names
    known in advance, so that a clash with a user's file is refused before the run rather than after it.
    """
    given = os.fsdecode(os.fspath(out)) if isinstance(out, (str, bytes, os.PathLike)) else repr(out)
    path = resolve_path(out, given)
    shown = "" if str(path) == given else f" ({_short(str(path))})"
    if path.parent == path:
        raise _refuse(given, f"it is the filesystem root{shown}")
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        cwd = None
    if cwd is not None and (path == cwd or path in cwd.parents):
        what = "the current folder" if path == cwd else "a folder above the current one"
        raise _refuse(given, f"it is {what}{shown}", "name a new folder for the outputs, e.g. out/run1")
    home = _home()
    if home is not None and (path == home or path in home.parents):
        what = "the home folder" if path == home else "a folder above the home folder"
        raise _refuse(given, f"it is {what}{shown}", "name a new folder for the outputs, e.g. out/run1")
    for s in protect:
        if s is None:
            continue
        try:
            sp = resolve_path(s)
        except OutputRefused:
            continue
        if path == sp:
            raise _refuse(given, f"it is the scenario folder{shown}", "write the outputs to another folder")
        if path in sp.parents:
            raise _refuse(given, f"it holds the scenario folder {_short(str(sp))}",
                          "write the outputs to another folder")
    if os.path.lexists(path) and not path.is_dir():
        link = " (through a symlink)" if Path(given).is_symlink() else ""
        what = "an existing file" if path.is_file() else "not a folder"
        raise _refuse(given, f"it is {what}{link}{shown}", "name a folder, not a file")
    if not path.exists():
        anc = path.parent
        while not os.path.lexists(anc) and anc.parent != anc:
            anc = anc.parent
        if not anc.is_dir():
            raise _refuse(given, f"{_short(str(anc))} is a file, not a folder", "choose another folder")
        if not os.access(anc, os.W_OK | os.X_OK):
            raise _refuse(given, f"cannot create it: no write permission in {_short(str(anc))}",
                          "choose a folder you can write to")
        return OutputTarget(path, given, "missing")
    entries = _entries(path, given)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise _refuse(given, f"no write permission in {_short(str(path.parent))}", "choose a folder you can write to")
    if not entries:
        return OutputTarget(path, given, "empty")
    try:
        info = read_marker(path)
    except ValueError as exc:
        raise _refuse(given, f"its {exc}", f"remove {MARKER} or choose another folder") from None
    previous = tuple(sorted(n for n in (info["manifest"] if info else ()) if n in entries))
    foreign = tuple(sorted(entries - set(previous) - {MARKER}))
    if info is not None and not foreign:
        return OutputTarget(path, given, "previous", previous)
    if not force:
        if info is None:
            why = "it is not empty and is not an earlier landuse output (it has no .landuse-output.json)"
        else:
            listed = ", ".join(_short(n, 40) for n in foreign[:3]) + (", …" if len(foreign) > 3 else "")
            why = f"it is an earlier landuse output that also holds files landuse did not write ({listed})"
        raise _refuse(given, why, HINT_FORCE)
    if not os.access(path, os.W_OK | os.X_OK):
        raise _refuse(given, "no write permission in it", "choose a folder you can write to")
    target = OutputTarget(path, given, "merge", previous, foreign)
    _check_clash(target, expect)
    return target


def _check_clash(target: OutputTarget, names: Iterable[str]) -> None:
    clash = sorted(set(names) & set(target.foreign))
    if clash:
        listed = ", ".join(_short(n, 40) for n in clash[:3]) + (", …" if len(clash) > 3 else "")
        raise _refuse(target.given, f"it holds {listed}, which landuse did not write and would overwrite",
                      "move those files away or choose another folder (even --force keeps them)")


# --- temporary folders, lock, signals -------------------------------------------------------------------------
def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _tmp_prefix(name: str, kind: str) -> str:
    short = name
    while len(os.fsencode(short)) > MAX_NAME_IN_TMP:
        short = short[:-1]
    return f".{short}.landuse-{kind}-{_host_tag()}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path) -> list[str]:
    """Remove this tool's temporary folders in `parent` whose process (on this host) is gone; only those. An
    earlier output left aside by a swap that was cut short is put back if its folder is missing."""
    removed = []
    host = _host_tag()
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for n in names:
        m = TMP_RE.match(n)
        if not m or m["host"] != host or int(m["pid"]) == os.getpid() or _pid_alive(int(m["pid"])):
            continue
        p = parent / n
        if p.is_symlink() or not p.is_dir():
            continue
        if m["kind"] == "old":  # a swap cut short: put the earlier output back if its place is empty
            with contextlib.suppress(OSError):
                aside = [e for e in os.listdir(p) if e.startswith("old-")]
                if len(aside) == 1 and not os.path.lexists(parent / aside[0][4:]):
                    os.rename(p / aside[0], parent / aside[0][4:])
        shutil.rmtree(p, ignore_errors=True)
        removed.append(n)
    return removed


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (changing it races other threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive flock on `folder` (a directory fd), so that swaps in it take turns."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # a folder we may write but not read: go on unlocked
        yield
        return
    try:
        with contextlib.suppress(OSError):  # file systems without flock: go on unlocked
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM (delivered when the block ends), so that a swap is never cut in half."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, ImportError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(src: Path, dst: Path, trash: Path) -> None:
    """Put `src` at `dst` (which exists); the old `dst` ends up inside `trash` (removed later)."""
    if _rename_exchange(src, dst):
        os.rename(src, trash / f"old-{dst.name}")  # src now holds the old entry
        return
    old = trash / f"old-{dst.name}"
    os.rename(dst, old)
    try:
        os.rename(src, dst)
    except BaseException:
        os.rename(old, dst)
        raise


def _marker_text(names: Iterable[str], extra: dict | None = None) -> str:
    from optimizer import __version__

    info = {"tool": "landuse-optimizer", "version": __version__,
            "written_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "manifest": sorted(names), **(extra or {})}
    return json.dumps(info, indent=1, ensure_ascii=False) + "\n"


# --- the staging folder -------------------------------------------------------------------------------------
@dataclass
class Staging:
    """The temporary folder a run writes into; `committed` tells what happened at the end."""

    folder: Path
    target: OutputTarget
    committed: bool = False
    kept_previous: bool = False  # a run without a plan left an earlier output as it was
    notes: list[str] = field(default_factory=list)


@contextmanager
def output_folder(out: str | os.PathLike, force: bool = False, protect: Iterable = (),
                  expect: Iterable[str] = (), keep_previous: bool = False,
                  keep_partial: bool = False) -> Iterator[Staging]:
    """Check `out`, yield a Staging whose `.folder` the caller fills; on success swap it into place.

    `keep_previous`: leave an earlier output as it is (a run without a plan), committing only where there was
    none. `keep_partial`: if the body fails, still put what it wrote where there was no earlier output (a
    benchmark keeps its finished sizes). On failure the temporary folder is always removed.
    """
    protect = tuple(protect)
    target = check_output_target(out, force, protect, expect)
    parent = target.path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target.path.name, "tmp"), dir=parent))
    except OSError as exc:
        raise _refuse(target.given, f"cannot create it: {_os_why(exc)}", "choose a folder you can write to") from None
    stage = Staging(tmp, target)
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the output folder follows the umask
        try:
            yield stage
        except BaseException:
            if keep_partial and os.listdir(tmp):
                with contextlib.suppress(Exception):
                    _commit(stage, force, protect, keep_previous=True)
            raise
        _commit(stage, force, protect, keep_previous)
    finally:
        with _signals_held():
            shutil.rmtree(tmp, ignore_errors=True)  # gone already if it was renamed into place


def _commit(stage: Staging, force: bool, protect: tuple, keep_previous: bool) -> None:
    tmp = stage.folder
    names = sorted(n for n in os.listdir(tmp) if n != MARKER)
    (tmp / MARKER).write_text(_marker_text(names), encoding="utf-8")
    parent = tmp.parent
    with _locked(parent), _signals_held():
        clean_stale(parent)
        t = stage.target = _recheck(stage.target, force, protect, names)  # another run may have finished
        if keep_previous and t.has_previous:
            stage.kept_previous = True
            return
        if t.state in ("missing", "empty"):
            try:
                os.replace(tmp, t.path)  # one atomic step (over an empty folder too)
            except OSError as exc:
                if t.state == "missing" or exc.errno not in (errno.EBUSY, errno.EXDEV, errno.EPERM):
                    raise
                _merge(tmp, t, names)  # an empty mount point and the like: move the entries in
        elif t.state == "previous":
            trash = Path(tempfile.mkdtemp(prefix=_tmp_prefix(t.path.name, "old"), dir=parent))
            try:
                _swap_in(tmp, t.path, trash)
            finally:
                shutil.rmtree(trash, ignore_errors=True)
        else:
            _merge(tmp, t, names)
        stage.committed = True


def _recheck(target: OutputTarget, force: bool, protect: tuple, names: list[str]) -> OutputTarget:
    """The target's state now (under the lock), by the same rules, against the actual output names."""
    t = check_output_target(target.path, force, protect, names)
    return OutputTarget(t.path, target.given, t.state, t.previous, t.foreign)


def _merge(tmp: Path, t: OutputTarget, names: list[str]) -> None:
    """Move the outputs into a folder that holds other entries: replace the tool's earlier entries, remove the
    ones this run did not write again, never touch the rest. The marker lists both while the move is under way."""
    _check_clash(t, names)
    dst = t.path
    trash = tmp / ".landuse-replaced"
    trash.mkdir()
    during = set(t.previous) | set(names)
    (tmp / ".marker-during").write_text(_marker_text(during, {"incomplete": True}), encoding="utf-8")
    os.replace(tmp / ".marker-during", dst / MARKER)
    for n in names:
        if os.path.lexists(dst / n):  # the tool's own earlier entry (clashes were refused above)
            os.rename(dst / n, trash / n)
        os.rename(tmp / n, dst / n)
    for n in set(t.previous) - set(names):
        if os.path.lexists(dst / n):
            os.rename(dst / n, trash / n)
    os.replace(tmp / MARKER, dst / MARKER)


@contextmanager
def atomic_folder(out: str | os.PathLike, force: bool = False, protect: Iterable = ()) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out` (by the rules above), on error it is
    removed. Kept for callers of the earlier API; `output_folder` tells more."""
    with output_folder(out, force=force, protect=protect) as stage:
        yield stage.folder


# --- the run's files ----------------------------------------------------------------------------------------
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
    if result.scenario.neighbours is not None:  # the neighbour graph with each pair's uses and synergy
        from optimizer.solution.check_neighbours import neighbours_table

        neighbours_table(result.scenario, result.plan.assignment).to_csv(folder / "neighbours.csv", index=False,
                                                                          float_format="%.6f")
    for name in ("marginal_values", "explain", "frontier"):  # the planning answers, when they were asked for
        table = result.analysis.get(name)
        if table is not None:
            table.to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")


Writer = Callable[[RunResult, Path], None]


def default_writers(figures: bool = True) -> list[Writer]:
    from optimizer.report.alternatives import write_alternatives

    writers: list[Writer] = [write_summary, write_tables, write_alternatives]
    if figures:
        from optimizer.report import extra_writers

        writers += extra_writers()
    return writers


def scenario_folders(result: RunResult) -> tuple[Path, ...]:
    """The folder a run's scenario came from (protected from being overwritten), if any."""
    folder = getattr(getattr(result, "scenario", None), "folder", None)
    return (Path(folder),) if folder else ()


def write_run(result: RunResult, out: str | os.PathLike, writers: Iterable[Writer] | None = None,
              figures: bool = True, force: bool = False, protect: Iterable | None = None) -> Staging:
    """Write a run's outputs into `out` by the rules above; a run without a plan leaves an earlier output as
    it is. Returns the Staging (`committed`, `kept_previous`, `target.path`)."""
    protect = tuple(protect) if protect is not None else scenario_folders(result)
    expect = SOLVE_OUTPUTS if writers is None else ()
    writers = list(writers) if writers is not None else default_writers(figures)
    with output_folder(out, force=force, protect=protect, expect=expect,
                       keep_previous=result.plan is None) as stage:
        for w in writers:
            w(result, stage.folder)
    return stage


def write_outputs(result: RunResult, out: str | os.PathLike, writers: Iterable[Writer] | None = None,
                  figures: bool = True, force: bool = False, protect: Iterable | None = None) -> Path:
    """Write every output of a run into `out`, whole or not at all; returns the folder.

    `out` may be a new or empty folder or an earlier output of this tool (replaced); anything else raises
    OutputRefused unless `force` (then the outputs go beside the files already there, which are kept).
    `protect` defaults to the scenario's folder. A run without a plan leaves an earlier output untouched
    (with a warning).
    """
    stage = write_run(result, out, writers, figures, force, protect)
    if stage.kept_previous:
        warnings.warn(f"the run has no plan: the earlier output in {out} was left untouched", stacklevel=2)
    return Path(out)
