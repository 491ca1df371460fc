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


def cmd_explain(args: argparse.Namespace) -> int:
    from optimizer.analysis.why import explain_plan
    from optimizer.cli import check_input_path, print_warnings
    from optimizer.errors import ScenarioError
    from optimizer.pipeline import solve_scenario
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
    print_warnings(getattr(sc, "warnings", ()))
    result = solve_scenario(sc, solver=args.solver, time_limit_s=args.time_limit, mip_gap=args.mip_gap,
                            threads=args.threads, log=args.log)
    if result.plan is None:
        print(f"no plan to explain: {result.message}")
        return 5
    table = explain_plan(result, resolve_s=0.0, parcels=tuple(args.parcel)).set_index("parcel_id")
    print(f"scenario {sc.name}: plan {result.plan.objective / 1e9:,.3f} bn yuan a year ({result.status}, "
          f"{result.solver})")
    par = sc.parcels.set_index("parcel_id")
    for pid in args.parcel:
        r, p = table.loc[pid], par.loc[pid]
        print(f"\nparcel {pid} (sub-area {p['subarea']}, zone {p['zone']}, {p['area_m2']:,.0f} m², "
              f"FAR cap {p['far_max']:g}): {r['status']}")
        print(f"  {r['reason']}")
        if r["runner_up"] and r["forcing_cost_method"]:
            print(f"  forcing the runner-up ({r['runner_up']}): {r['forcing_cost_method']}")
    return 0
