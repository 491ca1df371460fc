"""The `landuse` command line. Errors become a short message and an exit code, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


def _solve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--solver", choices=["highs", "cbc", "lagrange", "auto"], default=None,
                   help="highs or cbc (exact MIP solvers), lagrange (decomposition engine for large cities) or auto "
                        "(engine first, then HiGHS to prove); default: the scenario's, else highs")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="wall-clock limit in seconds")
    p.add_argument("--mip-gap", type=float, default=None, metavar="G", help="relative MIP gap to stop at")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="solver threads (0 = solver's choice)")
    p.add_argument("--log", action="store_true", help="show the solver's log")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="landuse", description="Land-use optimisation: which industry on which "
                                 "parcel, how dense, to produce the most output per unit of land.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a scenario and write its plan")
    p.add_argument("scenario", type=Path, help="scenario folder (holding scenario.toml)")
    p.add_argument("--out", type=Path, required=True, help="output folder (written whole or not at all)")
    p.add_argument("--no-figures", action="store_true", help="write tables and summary only")
    p.add_argument("--progress", action="store_true", help="print improving plans while solving")
    _solve_args(p)
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("validate", help="check a scenario without solving")
    p.add_argument("scenario", type=Path)
    p.set_defaults(func=cmd_validate)
    from optimizer import extensions

    extensions.add_commands(sub, _solve_args)
    return ap


def _fmt_money(v) -> str:
    return "-" if v is None else f"{v / 1e9:,.3f} bn"


def print_run(result) -> None:
    s = result.summary()
    gap = s["gap"]
    print(f"scenario {s['scenario']}: {s['status']} with {s['solver']}  objective {_fmt_money(s['objective'])} yuan"
          f"  bound {_fmt_money(s['bound'])}  gap {'-' if gap is None else f'{gap:.4%}'}"
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
    rows = [r for r in k["by_industry"] if r["sites"]]
    if rows:
        print(f"{'industry':<22}{'sites':>7}{'land km²':>10}{'floor km²':>11}{'output bn':>11}{'jobs':>10}")
        for r in sorted(rows, key=lambda r: -r["output_yuan"]):
            print(f"{r['industry_id'][:21]:<22}{int(r['sites']):>7}{r['land_m2'] / 1e6:>10.3f}"
                  f"{r['floor_m2'] / 1e6:>11.3f}{r['output_yuan'] / 1e9:>11.2f}{r['jobs']:>10,.0f}")


def cmd_solve(args) -> int:
    from optimizer.pipeline import solve_scenario
    from optimizer.report.write import write_outputs

    progress = None
    if args.progress:
        last = {"t": -1.0}

        def progress(ev):
            import math

            if ev["elapsed_s"] - last["t"] < 0.5:  # at most two lines a second
                return
            last["t"] = ev["elapsed_s"]

            def bn(v):
                return "      -" if v is None or not math.isfinite(v) else f"{v / 1e9:,.4f} bn"

            gap = ev.get("gap")
            gap_s = "-" if gap is None or not math.isfinite(gap) else f"{gap:.4%}"
            print(f"  {ev['elapsed_s']:7.1f} s  plan {bn(ev.get('objective'))}  bound {bn(ev.get('bound'))}"
                  f"  gap {gap_s}", flush=True)
    result = solve_scenario(args.scenario, solver=args.solver, time_limit_s=args.time_limit, mip_gap=args.mip_gap,
                            threads=args.threads, log=args.log, progress=progress)
    write_outputs(result, args.out, figures=not args.no_figures)
    print_run(result)
    print(f"wrote {args.out}")
    return 0 if result.plan is not None else 5


def cmd_validate(args) -> int:
    from optimizer.model import eligible_pairs
    from optimizer.scenario import load_scenario
    from optimizer.solution.explain import precheck

    sc = load_scenario(args.scenario)
    pairs = eligible_pairs(sc)
    print(f"scenario {sc.name}: {sc.n_parcels} parcels, {sc.n_industries} industries, {len(pairs)} eligible pairs, "
          f"{sc.parcels['area_m2'].sum() / 1e6:,.2f} km² of land")
    conflicts = precheck(sc, pairs)
    if conflicts:
        print("infeasible before solving:\n" + "\n".join(f"  - {c}" for c in conflicts))
        return 3
    print("valid")
    return 0


def main(argv: list[str] | None = None) -> int:
    from optimizer.errors import InfeasibleScenario, LanduseError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InfeasibleScenario as exc:
        print(f"landuse: {exc}", file=sys.stderr)
        return exc.exit_code
    except LanduseError as exc:
        print(f"landuse: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # e.g. an output folder that cannot be created
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"landuse: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("landuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
