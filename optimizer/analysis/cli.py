"""`landuse explain SCENARIO --parcel ID`: why a parcel got what it got, in plain words."""

from __future__ import annotations

import argparse
import difflib


def add_command(subparsers, solve_args) -> None:
    from optimizer.cli import path_arg

    p = subparsers.add_parser(
        "explain", help="solve a scenario and say why a parcel got what it got",
        description="Solve the scenario, then explain each --parcel: the industry it got and its value, the "
                    "runner-up and what forcing it would cost (re-solved exactly), or why it stays empty.")
    p.add_argument("scenario", type=path_arg, help="scenario folder (holding scenario.toml)")
    p.add_argument("--parcel", action="append", required=True, metavar="ID", help="parcel id (repeatable)")
    solve_args(p)
    p.set_defaults(func=cmd_explain)
    add_frontier_command(subparsers, solve_args)


def _solve(args: argparse.Namespace, sc):
    """The scenario solved with the command's solver flags, its warnings printed (as `landuse solve` does)."""
    from optimizer.cli import print_warnings
    from optimizer.pipeline import solve_scenario

    print_warnings(getattr(sc, "warnings", ()))
    return solve_scenario(sc, solver=args.solver, time_limit_s=args.time_limit, mip_gap=args.mip_gap,
                          threads=args.threads, log=args.log, work_limit_s=args.work_limit)


def cmd_explain(args: argparse.Namespace) -> int:
    from optimizer.analysis.why import explain_plan
    from optimizer.cli import check_input_path
    from optimizer.data import objective_words
    from optimizer.errors import ScenarioError
    from optimizer.scenario import load_scenario

    check_input_path(args.scenario)
    sc = load_scenario(args.scenario)
    known = sc.parcel_index()
    for pid in args.parcel:
        if pid not in known:
            close = difflib.get_close_matches(pid, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ScenarioError(f"no parcel has id {pid!r}{hint}", file=sc.files.get("parcels", "parcels"),
                                field="parcel_id")
    result = _solve(args, sc)
    if result.plan is None:
        print(f"no plan to explain: {result.message}")
        return 5
    table = explain_plan(result, resolve_s=0.0, parcels=tuple(args.parcel)).set_index("parcel_id")
    print(f"scenario {sc.name}: plan {objective_words(sc, result.plan.objective)} "
          f"({result.status}, {result.solver})")
    par = sc.parcels.set_index("parcel_id")
    for pid in args.parcel:
        r, p = table.loc[pid], par.loc[pid]
        print(f"\nparcel {pid} (sub-area {p['subarea']}, zone {p['zone']}, {p['area_m2']:,.0f} m², "
              f"FAR cap {p['far_max']:g}): {r['status']}")
        print(f"  {r['reason']}")
        if r["runner_up"] and r["forcing_cost_method"]:
            print(f"  forcing the runner-up ({r['runner_up']}): {r['forcing_cost_method']}")
    return 0


FRONTIER_OUTPUTS = ("frontier.csv", "frontier.png", "points")


def add_frontier_command(subparsers, solve_args) -> None:
    from optimizer.cli import count_arg, out_args, path_arg

    p = subparsers.add_parser(
        "frontier", help="the trade-off curve between two KPIs (ε-constraint), each point a checked plan",
        description="Solve the scenario, then the best --y for each of --points levels of --x, from the least "
                    "x any plan needs (or the most it can give) to what the best plan uses. Writes frontier.csv, "
                    "frontier.png and a map of the marked points (knee, most y per x, both ends) under points/. "
                    "--time-limit S is the first solve's limit, and the frontier's points share as much again: "
                    "the whole takes about 2×S.")
    p.add_argument("scenario", type=path_arg, help="scenario folder (holding scenario.toml)")
    p.add_argument("--x", default="developed_land",
                   help="developed_land, budget or floor (capped), or jobs, output or a metric (held at least)")
    p.add_argument("--y", default="output", help="the KPI to maximise: output, jobs, floor or a metric")
    p.add_argument("--points", type=count_arg, default=10, metavar="N", help="frontier points (default 10)")
    out_args(p)
    p.add_argument("--no-figures", action="store_true", help="write frontier.csv only")
    solve_args(p)
    p.set_defaults(func=cmd_frontier)


def cmd_frontier(args: argparse.Namespace) -> int:
    import numpy as np

    from optimizer.analysis.frontier import USING, frontier
    from optimizer.cli import check_input_path, protected
    from optimizer.errors import BadOption
    from optimizer.report.answers import clock_note, frontier_figure, frontier_text, kpi_scale
    from optimizer.report.maps import figure_style, plan_map, save_figure
    from optimizer.report.write import check_output_target, output_folder
    from optimizer.scenario import load_scenario

    check_input_path(args.scenario)
    protect = protected([args.scenario])
    check_output_target(args.out, args.force, protect, FRONTIER_OUTPUTS)
    if args.points < 2:
        raise BadOption("--points must be at least 2")
    sc = load_scenario(args.scenario)
    result = _solve(args, sc)
    if result.plan is None:
        print(f"no plan, so no frontier: {result.message}")
        return 5
    try:
        table, plans = frontier(result, args.x, args.y, args.points, time_limit_s=result.options.time_limit_s)
    except ValueError as exc:
        raise BadOption(str(exc)) from None
    with output_folder(args.out, force=args.force, protect=protect + (sc.folder,), expect=FRONTIER_OUTPUTS) as st:
        table.to_csv(st.folder / "frontier.csv", index=False, float_format="%.6g")
        if not args.no_figures:
            with figure_style():
                save_figure(frontier_figure(table, args.x, args.y, f"{sc.name}: best {args.y} for each level of "
                                                                   f"{args.x.replace('_', ' ')}"),
                            st.folder / "frontier.png")
                (st.folder / "points").mkdir()
                marked = table[table["knee"] | table["best_y_per_x"]].index.union(
                    table.index[table["y"].notna()][[0, -1]] if table["y"].notna().any() else [])
                for i in marked:
                    run = plans[int(table.loc[i, "point"])]
                    if run is not None:
                        save_figure(plan_map(run), st.folder / "points" / f"point_{int(table.loc[i, 'point'])}.png")
    print(frontier_text(table, args.x, args.y))
    got, proved = table.attrs.get("far_end", (np.nan, np.nan))
    if np.isfinite(proved) and abs(got - proved) > 1e-6 * max(abs(got), 1.0):
        scale, unit = kpi_scale(args.x)
        print(f"note: the tight end is the {'least' if args.x in USING else 'most'} {args.x.replace('_', ' ')} "
              f"found, {got / scale:,.3f} {unit}; no plan {'needs less' if args.x in USING else 'gives more'} than "
              f"{proved / scale:,.3f} {unit}")
    if not table["monotone"].all():
        print("note: the curve is not monotone within the stated gaps at the points marked NO")
    print(clock_note(table))
    print(f"wrote {args.out}")
    return 0
