"""The `landuse` command line. Errors become a short message and an exit code, never a traceback
(`--debug` shows the traceback of an unexpected error)."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
MAX_TIME_LIMIT_S = 1e7
MAX_THREADS = 1024
FORCE_HELP = ("write into a non-empty folder that is not an earlier output: the outputs go beside its files, "
              "which are kept (never the current, home or scenario folder, nor a file)")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that temporary folders are cleaned up on the way out."""


# --- flag values ----------------------------------------------------------------------------------------------
def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return v


def time_limit_arg(text: str) -> float:
    """--time-limit: finite seconds in [0, 1e7]."""
    what = f"must be a number of seconds from 0 to {MAX_TIME_LIMIT_S:,.0f}"
    v = _number(text, what)
    if not 0 <= v <= MAX_TIME_LIMIT_S:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return v


def mip_gap_arg(text: str) -> float:
    """--mip-gap: a relative gap in [0, 1]."""
    what = "must be a relative gap from 0 to 1 (e.g. 0.001)"
    v = _number(text, what)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return v


def count_arg(text: str) -> int:
    """A whole number from 0 to 1,000,000 (--alternatives, --min-diff)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 1,000,000, got {text!r}") from None
    if not 0 <= v <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 1,000,000, got {text!r}")
    return v


def chunk_parcels_arg(text: str) -> int:
    """--chunk-parcels: a whole number of parcels from 1 to 1,000,000,000."""
    return _whole_arg(text, 1, "must be a whole number of parcels from 1 to 1,000,000,000", hi=1_000_000_000)


def percent_arg(text: str) -> float:
    """A percentage from 0 to 100 (--within)."""
    v = _number(text, "must be a percentage from 0 to 100")
    if not 0 <= v <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, got {text!r}")
    return v


def _whole_arg(text: str, lo: int, what: str, hi: int = MAX_THREADS) -> int:
    """A whole number in [lo, hi], or an argparse error saying `what` it must be."""
    try:
        v = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}") from None
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"{what}, got {text!r}")
    return v


def threads_arg(text: str) -> int:
    """--threads: a whole number in [0, 1024] (0: the solver's choice)."""
    return _whole_arg(text, 0, f"must be a whole number from 0 to {MAX_THREADS} (0 = the solver's choice)")


def dual_workers_arg(text: str) -> int:
    """--dual-workers: a whole number of local worker processes in [1, 1024]."""
    return _whole_arg(text, 1, f"must be a whole number of worker processes from 1 to {MAX_THREADS}")


def path_arg(text: str) -> Path:
    """A path argument: not empty, no NUL byte."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names nothing; give a folder name")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"the path {text!r} holds a NUL byte")
    return Path(text)


OUT_HELP = "output folder: new, empty or an earlier output (replaced whole, or not at all)"


def out_args(p: argparse.ArgumentParser, help: str = OUT_HELP, **kw) -> None:
    """--out and --force, the same on every command that writes a folder (optimizer.report.write's rules)."""
    p.add_argument("--out", type=path_arg, required="default" not in kw, help=help, **kw)
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def _solve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--solver", choices=["highs", "cbc", "lagrange", "auto"], default=None,
                   help="highs or cbc (exact MIP solvers), lagrange (decomposition engine for large cities) or auto "
                        "(engine first, then HiGHS to prove); default: the scenario's, else highs")
    p.add_argument("--time-limit", type=time_limit_arg, default=None, metavar="S",
                   help=f"wall-clock limit in seconds (0 to {MAX_TIME_LIMIT_S:,.0f})")
    p.add_argument("--mip-gap", type=mip_gap_arg, default=None, metavar="G",
                   help="relative MIP gap to stop at (0 to 1)")
    p.add_argument("--threads", type=threads_arg, default=None, metavar="N",
                   help=f"solver threads (0 = solver's choice, at most {MAX_THREADS})")
    p.add_argument("--work-limit", type=time_limit_arg, default=None, metavar="S",
                   help="nominal seconds of work per solver call (highs, lagrange, auto): the same plan on a busy or "
                        "an idle machine, the time limit then a ceiling only; default: the scenario's, else none")
    p.add_argument("--log", action="store_true", help="show the solver's log")


def _add_debug(ap: argparse.ArgumentParser, top: bool) -> None:
    """--debug on the parser and every sub-command, so that it may stand anywhere on the line."""
    ap.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                    help="show the traceback of an unexpected error")
    for action in ap._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _add_debug(sub, top=False)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="landuse", description="Land-use optimisation: which industry on which "
                                 "parcel, how dense, to produce the most output per unit of land.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a scenario and write its plan")
    p.add_argument("scenario", type=path_arg, help="scenario folder (holding scenario.toml)")
    out_args(p)
    p.add_argument("--no-figures", action="store_true", help="write tables and summary only")
    p.add_argument("--no-analysis", action="store_true",
                   help="skip the planning answers (marginal_values.csv: what each rule is worth; explain.csv: "
                        "why each parcel); they run by default on models up to 200,000 pairs")
    p.add_argument("--analysis-time", type=time_limit_arg, default=60.0, metavar="S",
                   help="the most seconds the planning answers may add (default 60; they re-solve a fixed number "
                        "of rules and parcels, so the answers do not depend on the machine's speed)")
    p.add_argument("--alternatives", type=count_arg, default=0, metavar="K",
                   help="also find up to K alternative plans (written to alternatives/alt_k/)")
    p.add_argument("--min-diff", type=count_arg, default=5, metavar="N",
                   help="each alternative differs from the best and every earlier one in at least N parcels "
                        "(default 5)")
    p.add_argument("--within", type=percent_arg, default=1.0, metavar="PCT",
                   help="each alternative's objective is within PCT %% of the best (default 1)")
    p.add_argument("--frontier", type=count_arg, default=0, metavar="N",
                   help="also the N-point frontier of output against developed land (frontier.csv, frontier.png, "
                        "in the report; its points share as much time again as the solve); `landuse frontier` draws "
                        "other pairs of KPIs")
    p.add_argument("--progress", action="store_true", help="print improving plans while solving")
    p.add_argument("--chunk-parcels", type=chunk_parcels_arg, default=None, metavar="N",
                   help="solve in chunks of at most N parcels, each loaded, built and solved on its own (on the Dask "
                        "workers of --dual-workers or --dual-scheduler, else one after another here), so that the "
                        "parcels never sit in one process together; writes assignment.csv and summary.json only "
                        "(see 'Solving in parcel chunks' in docs/scenario-format.md)")
    _solve_args(p)
    dual = p.add_mutually_exclusive_group()
    dual.add_argument("--dual-workers", type=dual_workers_arg, default=0, metavar="N",
                      help="evaluate the Lagrangian engine's dual over parcel chunks on N local Dask worker "
                           "processes (solver lagrange or auto)")
    dual.add_argument("--dual-scheduler", default=None, metavar="ADDRESS",
                      help="the same on an existing Dask cluster, e.g. tcp://host:8786 (its workers must have "
                           "this package installed; it is left running)")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("validate", help="check a scenario without solving")
    p.add_argument("scenario", type=path_arg)
    p.set_defaults(func=cmd_validate)
    from optimizer import extensions

    extensions.add_commands(sub, _solve_args)
    _add_debug(ap, top=True)
    return ap


def print_run(result) -> None:
    s = result.summary()
    gap = s["gap"]
    from optimizer.data import objective_words

    sc = result.scenario
    kind = sc.objective.kind
    print(f"scenario {s['scenario']}: {s['status']} with {s['solver']}  objective "
          f"{objective_words(sc, s['objective'])}  bound {objective_words(sc, s['bound'])}"
          f"  {'ratio ' if kind == 'output_per_land' else ''}gap {'-' if gap is None else f'{gap:.4%}'}"
          f"  build {s['build_s'] or 0:.2f} s  solve {s['solve_s'] or 0:.2f} s")
    if result.plan is None:
        print(f"no plan: {s['message']}")
        return
    k = s["kpis"]
    zone = ""
    if k.get("output_per_km2_zone_yuan") is not None:
        zone = f"{k['output_per_km2_zone_yuan'] / 1e9:,.2f} bn per km² of the zone ({k['zone_area_km2']:,.2f} km²)  "
    print(f"check: {'passed' if s['check']['passed'] else 'FAILED'} ({s['check']['rules_checked']} rules)  "
          f"output {k['total_output_yuan'] / 1e9:,.2f} bn yuan/yr  {zone}"
          f"{k['output_per_km2_all_land_yuan'] / 1e9:,.2f} bn per km² of parcel land  "
          f"{k['output_per_km2_developed_yuan'] / 1e9:,.2f} bn per km² developed  jobs {k['jobs']:,.0f}")
    if k.get("baseline_output_yuan"):  # existing uses: the plan beside everything kept as it is
        acts = k.get("actions", {})
        print(f"baseline (everything kept) {k['baseline_output_yuan'] / 1e9:,.2f} bn yuan/yr  gain "
              f"{k['gain_over_baseline_yuan'] / 1e9:+,.2f} bn  parcels: " + ", ".join(
                  f"{acts.get(a, 0)} {a}" for a in ("keep", "intensify", "convert", "new")))
    if "clusters_by_industry" in k:  # a neighbour graph: synergy and clusters
        print(f"synergy {k['synergy_yuan'] / 1e9:,.3f} bn yuan/yr over {k['neighbour_pairs']:,} neighbouring pairs  "
              "clusters: " + (", ".join(f"{n} {kk}" for kk, n in k["clusters_by_industry"].items()) or "none"))
    for ph in k.get("phases") or ():
        ref = ph["reference_output_yuan"]
        print(f"phase {ph['phase']} ({ph['start_year']}–{ph['end_year']}): {ph['parcels_developed']} parcels developed, "
              f"spending {ph['spending_yuan'] / 1e9:,.2f} bn yuan"
              + (f" of {ph['budget_yuan'] / 1e9:,.2f} bn" if ph["budget_yuan"] is not None else "")
              + f"; at its end {ph['output_at_end_yuan'] / 1e9:,.2f} bn yuan/yr"
              + (f" (published figure {ref / 1e9:,.1f} bn, plan {ph['output_vs_reference']:+.1%})" if ref else ""))
    rows = [r for r in k["by_industry"] if r["sites"]]
    if rows:
        print(f"{'industry':<22}{'sites':>7}{'land km²':>10}{'floor km²':>11}{'output bn':>11}{'jobs':>10}")
        for r in sorted(rows, key=lambda r: -r["output_yuan"]):
            print(f"{r['industry_id'][:21]:<22}{int(r['sites']):>7}{r['land_m2'] / 1e6:>10.3f}"
                  f"{r['floor_m2'] / 1e6:>11.3f}{r['output_yuan'] / 1e9:>11.2f}{r['jobs']:>10,.0f}")
    if "alternatives" in result.analysis:
        alts = result.analysis["alternatives"]
        print(f"alternatives: {len(alts)} found" + "".join(
            f"\n  - alt_{i}: objective {a.plan.objective / result.plan.objective - 1:+.3%}, "
            f"{a.analysis['differs_from'][0]} parcels differ from the best" for i, a in enumerate(alts, start=1)))
    if "marginal_values" in result.analysis:
        from optimizer.analysis.worth import holding_back

        lines = holding_back(result.analysis["marginal_values"], result.scenario)
        print("what holds the plan back most:" if lines else
              "what holds the plan back most: no rule gains from a small relaxation (see marginal_values.csv)")
        for line in lines:
            print(f"  - {line}")


def print_warnings(lines: Iterable[str]) -> None:
    for w in lines:
        print(f"warning: {w}", file=sys.stderr)


def check_input_path(path: Path, what: str = "scenario") -> None:
    """A clean exit-2 error for an input path that cannot be used (NUL, symlink loop, name too long, no
    permission); a missing one is left to the loader, which says so."""
    from optimizer.errors import ScenarioError

    text = os.fspath(path)
    if not text.strip() or "\0" in text:
        raise ScenarioError(f"unusable {what} path (empty or holding a NUL byte)", file=repr(text))
    try:
        os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ScenarioError(f"cannot read the {what} path: {_os_reason(exc)}", file=_short(text)) from None


def protected(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Folders an output may never replace: each scenario folder (the folder of a scenario.toml given as a
    file)."""
    out: list[Path] = []
    for p in paths:
        out.append(p)
        if p.is_file():
            out.append(p.parent)
    return tuple(out)


def cmd_solve(args) -> int:
    from optimizer.pipeline import solve_scenario
    from optimizer.report.write import SOLVE_OUTPUTS, check_output_target, write_run, write_summary
    from optimizer.scenario import load_scenario

    check_input_path(args.scenario)
    protect = protected([args.scenario])
    if args.chunk_parcels is not None:
        return _solve_chunked(args, protect)
    check_output_target(args.out, args.force, protect, SOLVE_OUTPUTS)  # refuse before a long solve, not after
    progress = None
    if args.progress:
        last = {"t": -1.0}

        def progress(ev):
            if ev["elapsed_s"] - last["t"] < 0.5:  # at most two lines a second
                return
            last["t"] = ev["elapsed_s"]

            def bn(v):
                return "      -" if v is None or not math.isfinite(v) else f"{v / 1e9:,.4f} bn"

            gap = ev.get("gap")
            gap_s = "-" if gap is None or not math.isfinite(gap) else f"{gap:.4%}"
            print(f"  {ev['elapsed_s']:7.1f} s  plan {bn(ev.get('objective'))}  bound {bn(ev.get('bound'))}"
                  f"  gap {gap_s}", flush=True)
    sc = load_scenario(args.scenario)
    print_warnings(getattr(sc, "warnings", ()))
    result = solve_scenario(sc, solver=args.solver, time_limit_s=args.time_limit, mip_gap=args.mip_gap,
                            threads=args.threads, log=args.log, progress=progress,
                            dual_workers=args.dual_workers, dual_scheduler=args.dual_scheduler,
                            work_limit_s=args.work_limit)
    print_warnings(getattr(result, "warnings", ()))  # about the run (the scenario's were printed above)
    if result.plan is not None and not args.no_analysis:
        from optimizer.analysis.run import MAX_PAIRS, analyse

        if result.bundle.n_pairs <= MAX_PAIRS:
            result = analyse(result, time_limit_s=args.analysis_time)
        else:
            print(f"planning answers skipped: {result.bundle.n_pairs:,} pairs (above {MAX_PAIRS:,}); "
                  "use `landuse explain` for single parcels")
    if result.plan is not None and args.frontier >= 2:
        from dataclasses import replace as _replace

        from optimizer.analysis.frontier import frontier
        from optimizer.report.answers import clock_note

        try:
            table, _ = frontier(result, "developed_land", "output", args.frontier)
            result = _replace(result, analysis={**result.analysis, "frontier": table})
            if (note := clock_note(table)).startswith("note:"):
                print(note.replace("--time-limit", "time limit"))
        except ValueError as exc:
            print_warnings([f"no frontier: {exc}"])
    if result.plan is not None and args.alternatives:
        from dataclasses import replace as _replace

        from optimizer.analysis.alternatives import alternative_plans, alternatives_table

        alts = alternative_plans(result, args.alternatives, args.min_diff, args.within / 100)
        result = _replace(result, analysis={**result.analysis, "alternatives": alts,
                                            "alternatives_table": alternatives_table(result, alts)})
    writers = None if result.plan is not None else [write_summary]  # no plan: summary.json only
    stage = write_run(result, args.out, writers=writers, figures=not args.no_figures, force=args.force,
                      protect=protect + tuple(p for p in [getattr(sc, "folder", None)] if p))
    print_run(result)
    if stage.kept_previous:
        print(f"no plan: the earlier output in {args.out} was left untouched")
    else:
        print(f"wrote {args.out}")
        if (Path(args.out) / "plan_local.geojson").is_file():
            print("  plan_local.geojson, not plan.geojson: the parcels' x/y are local metres with no anchor on "
                  "the Earth, so there is no WGS84 file for GIS")
    return 0 if result.plan is not None else 5


def _solve_chunked(args, protect: tuple) -> int:
    """`landuse solve --chunk-parcels N`: optimizer.chunked."""
    import contextlib

    from optimizer.chunked import CHUNK_OUTPUTS, solve_chunked, write_chunked
    from optimizer.errors import BadOption
    from optimizer.report.write import check_output_target

    asked = [flag for flag, on in (("--alternatives", args.alternatives), ("--frontier", args.frontier),
                                   ("--progress", args.progress), ("--log", args.log),
                                   ("--solver cbc", args.solver == "cbc")) if on]
    if asked:
        raise BadOption(f"{', '.join(asked)} cannot be used with --chunk-parcels (they need the whole plan, or the "
                         "whole model, in one process)")
    check_output_target(args.out, args.force, protect, CHUNK_OUTPUTS)  # refuse before a long solve, not after
    with contextlib.ExitStack() as stack:
        run = solve_chunked(args.scenario, args.chunk_parcels, solver=args.solver, time_limit_s=args.time_limit,
                            mip_gap=args.mip_gap, threads=args.threads, workers=args.dual_workers,
                            scheduler=args.dual_scheduler, work_limit_s=args.work_limit, stack=stack)
        stage = write_chunked(run, args.out, force=args.force, protect=protect)
    print_warnings(run.warnings)
    r = run.result
    gap = "-" if not math.isfinite(r.gap) else f"{r.gap:.4%}"
    print(f"scenario {run.scenario}: {r.status} with {run.solver} over {len(run.ranges)} chunks of at most "
          f"{args.chunk_parcels:,} parcels ({run.n_parcels:,} parcels, {run.where})  objective {r.objective:,.0f}  "
          f"bound {r.bound:,.0f}  gap {gap}  chunks loaded and built {run.timings.get('build_s', 0):.2f} s  "
          f"solve {run.timings.get('solve_s', 0):.2f} s")
    if run.check is not None:
        c = run.check
        print(f"check: passed ({c.n_checked_rules} rules, from the scenario's data over every chunk)")
    else:
        print(r.message)
    print(f"no plan: the earlier output in {args.out} was left untouched" if stage.kept_previous
          else f"wrote {args.out}")
    return 0 if run.has_plan else 5


def cmd_validate(args) -> int:
    from optimizer.model import eligible_pairs
    from optimizer.scenario import load_scenario
    from optimizer.solution.explain import precheck

    check_input_path(args.scenario)
    sc = load_scenario(args.scenario)
    print_warnings(getattr(sc, "warnings", ()))
    pairs = eligible_pairs(sc)
    print(f"scenario {sc.name}: {sc.n_parcels} parcels, {sc.n_industries} industries, {len(pairs)} eligible pairs, "
          f"{sc.parcels['area_m2'].sum() / 1e6:,.2f} km² of land")
    conflicts = precheck(sc, pairs)
    if conflicts:
        print("infeasible before solving:\n" + "\n".join(f"  - {c}" for c in conflicts))
        return 3
    print("valid")
    return 0


# --- errors -----------------------------------------------------------------------------------------------------
def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else f"{text[:70]}…{text[-40:]}"


def _os_reason(exc: OSError) -> str:
    reasons = {errno.ELOOP: "a symlink loop", errno.ENAMETOOLONG: "a file name is too long",
               errno.EACCES: "permission denied", errno.ENOTDIR: "a part of the path is a file, not a folder"}
    return reasons.get(exc.errno, exc.strerror or str(exc))


def _user_paths(args) -> list[str]:
    """The paths given on the command line (so that an error on one of them is bad input, exit code 2)."""
    found = []
    for key in ("scenario", "scenarios", "out", "files", "json", "optima", "layer"):
        v = getattr(args, key, None)
        for p in v if isinstance(v, list) else [v]:
            if isinstance(p, (str, Path)) and str(p):
                found.append(os.path.abspath(p))
    return found


def _is_user_path(filename, args) -> bool:
    if not filename:
        return False
    try:
        f = os.path.abspath(os.fsdecode(filename))
    except (TypeError, ValueError):
        return False
    return any(f == u or f.startswith(u.rstrip(os.sep) + os.sep) for u in _user_paths(args))


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into Terminated while a command runs (main thread only), so that cleanup code runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _traceback(exc: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _internal(exc: BaseException, debug: bool) -> int:
    _traceback(exc, debug)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    hint = "" if debug else " (run with --debug for the traceback)"
    print(f"landuse: internal error: {type(exc).__name__}: {_short(msg, 300)}{hint}", file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    from optimizer.errors import InfeasibleScenario, LanduseError

    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        with _sigterm_raises():
            return args.func(args)
    except InfeasibleScenario as exc:
        print(f"landuse: {exc}", file=sys.stderr)
        return exc.exit_code
    except LanduseError as exc:
        print(f"landuse: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # e.g. a file that cannot be read or written
        _traceback(exc, debug)
        names = [n for n in (exc.filename, getattr(exc, "filename2", None)) if n]
        where = f" ({_short(os.fsdecode(names[0]))})" if names else ""
        print(f"landuse: error: {_os_reason(exc)}{where}", file=sys.stderr)
        return EXIT_USAGE if any(_is_user_path(n, args) for n in names) else 1
    except RecursionError as exc:
        _traceback(exc, debug)
        print("landuse: error: an input is nested too deeply to read (RecursionError); "
              "run with --debug for the traceback", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("landuse: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("landuse: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if isinstance(exc, ValueError) and "null byte" in str(exc):
            _traceback(exc, debug)
            print("landuse: error: a path holds a NUL byte", file=sys.stderr)
            return EXIT_USAGE
        return _internal(exc, debug)


if __name__ == "__main__":
    sys.exit(main())
