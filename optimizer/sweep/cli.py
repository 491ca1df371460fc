"""`landuse sweep SCENARIO --spec sweep.toml --out DIR`: many runs of one scenario on Dask.

Run parts: each finished run is written at once to a cache folder beside DIR (`.DIR.sweep-runs`, outside the
atomic swap of the output folder, so that an interrupted sweep keeps them); `--resume` solves only the runs
missing from that cache and from DIR/runs of an earlier finished sweep. The finished output holds every part
under DIR/runs/ and the cache is then removed.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from optimizer.errors import BadOption, LanduseError


class SweepUnavailable(LanduseError):
    """dask / distributed are not installed, or the scheduler cannot be reached."""

    exit_code = 4


def add_command(subparsers, solve_args) -> None:
    from optimizer.cli import count_arg, out_args, path_arg

    p = subparsers.add_parser(
        "sweep", help="solve a scenario for many parameter values (grid or samples) on Dask",
        description="Vary the parameters named in --spec (docs/sweep-format.md), solve every run on a Dask "
                    "cluster and write sweep.csv, a tornado chart, line charts, a robustness table and map, the "
                    "robust core (GeoJSON) and report.html. Every finished run is kept at once, so --resume "
                    "after an interruption solves only the missing runs.")
    p.add_argument("scenario", type=path_arg, help="scenario folder (holding scenario.toml)")
    p.add_argument("--spec", type=path_arg, required=True, help="sweep spec (TOML)")
    out_args(p)
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=count_arg, metavar="N", help="local worker processes (default: one per core)")
    p.add_argument("--resume", action="store_true", help="keep the runs an earlier (interrupted) sweep finished")
    p.add_argument("--samples", type=count_arg, metavar="N",
                   help="uncertainty mode: N draws of the spec's distributions (seeded by its seed)")
    p.add_argument("--no-figures", action="store_true", help="tables and GeoJSON only")
    p.set_defaults(func=cmd_sweep)


def cache_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.sweep-runs"


def cmd_sweep(args: argparse.Namespace) -> int:
    from optimizer.cli import check_input_path, print_warnings, protected
    from optimizer.report.write import check_output_target, output_folder
    from optimizer.scenario import load_scenario
    from optimizer.sweep.outputs import SWEEP_OUTPUTS, write_outputs
    from optimizer.sweep.spec import load_spec, plan_runs

    check_input_path(args.scenario)
    check_input_path(args.spec, "spec")
    if args.samples is not None and args.samples < 1:
        raise BadOption("--samples must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise BadOption("--workers must be at least 1")
    spec = load_spec(args.spec)
    protect = protected([args.scenario])
    target = check_output_target(args.out, args.force, protect, SWEEP_OUTPUTS)
    sc = load_scenario(args.scenario)
    print_warnings(getattr(sc, "warnings", ()))
    runs = plan_runs(sc, spec, args.samples)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SweepUnavailable("landuse sweep needs Dask: pip install 'dask[distributed]'") from None
    from optimizer.sweep.run import execute, local_client

    cache = cache_folder(target.path)
    if not args.resume:
        shutil.rmtree(cache, ignore_errors=True)
    previous = (target.path / "runs",) if args.resume and target.has_previous else ()
    try:
        with local_client(args.workers, args.scheduler) as client:
            df = execute(sc, spec, runs, client, cache, previous)
    except (OSError, TimeoutError) as exc:
        if args.scheduler:
            raise SweepUnavailable(f"cannot use the Dask scheduler {args.scheduler!r}: {exc}") from None
        raise
    with output_folder(args.out, force=args.force, protect=protect + (sc.folder,), expect=SWEEP_OUTPUTS) as st:
        (st.folder / "runs").mkdir()
        for k in df["key"].unique():
            shutil.copy2(cache / f"run_{k}.csv", st.folder / "runs" / f"run_{k}.csv")
        write_outputs(sc, df, spec, st.folder, args.samples, figures=not args.no_figures)
    shutil.rmtree(cache, ignore_errors=True)
    counts = ", ".join(f"{k} {v}" for k, v in df["status"].value_counts().items())
    print(f"sweep of {sc.name}: {len(df)} runs ({counts}); wrote {args.out}")
    return 0
