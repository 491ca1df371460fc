"""`landuse bench ...`: run (synthetic cities), gap (OR-Library files), gap-gen (a tight-capacity GAP file),
generate (a city folder), build-speed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

GAP_KEYS = ("file", "problem", "sense", "objective", "bound", "status", "seconds")


def _size(text: str) -> str:
    from optimizer.bench.synthetic import resolve_case

    try:
        resolve_case(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


CASE_HELP = ("s1k, s10k, s50k, s100k, s1m, t10k, t50k, t200k, t1m, q100k, q1m (1,000 to 1,000,000 parcels; t: the "
             "tight instance family, q: the city with the Qianhai rule families), a number of parcels, t<number> "
             "or q<number>")  # optimizer.bench.synthetic.CASES


def add_command(sub, solve_args) -> None:
    """Add `bench` with its sub-commands to the `landuse` parser (`solve_args` is not needed here).

    Nothing heavy is imported here, so that `landuse --help` stays fast.
    """
    from optimizer.cli import mip_gap_arg, out_args, threads_arg, time_limit_arg

    bench = sub.add_parser("bench", help="benchmarks: synthetic cities, public GAP instances, build speed",
                           description="Benchmarks that go through the same pipeline as `landuse solve`.")
    bsub = bench.add_subparsers(dest="bench_command", required=True, metavar="{run,gap,gap-gen,generate,build-speed}")

    p = bsub.add_parser("run", help="time every phase and backend on synthetic cities; write report.md",
                        description=f"Synthetic cities: {CASE_HELP}, or a plain number of parcels.")
    p.add_argument("--sizes", nargs="+", type=_size, default=["s1k", "s10k"], metavar="SIZE",
                   help="cases to run (default: s1k s10k)")
    p.add_argument("--solvers", nargs="+", default=None, metavar="NAME",
                   help="backends (default: every available one); other names are passed through to the pipeline")
    p.add_argument("--time-limit", type=time_limit_arg, default=120.0, metavar="S", help="per solve (default 120)")
    p.add_argument("--mip-gap", type=mip_gap_arg, default=1e-4, metavar="G", help="relative MIP gap (default 1e-4)")
    p.add_argument("--threads", type=threads_arg, default=None, metavar="N")
    out_args(p, "output folder (default bench-results): new, empty or an earlier benchmark output",
             default=Path("bench-results"))
    p.add_argument("--no-baselines", action="store_true", help="skip PuLP build, greedy and LP relaxation")
    p.add_argument("--pulp-max-pairs", type=int, default=None, metavar="N",
                   help="skip the PuLP baseline above this many eligible pairs")
    p.add_argument("--keep-plans", action="store_true", help="keep each backend's plan tables under OUT/plans")
    p.add_argument("--in-process", action="store_true",
                   help="solve in this process (default: each backend in a fresh process, so that a solver "
                        "outliving its time limit cannot skew what follows)")
    p.set_defaults(func=cmd_run)

    p = bsub.add_parser("gap", help="solve OR-Library GAP files through the pipeline",
                        description="Each problem of each file becomes a scenario (jobs = parcels, agents = "
                        "industries) solved by `solve_scenario`.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--sense", choices=["max", "min", "both"], default="max")
    p.add_argument("--time-limit", type=time_limit_arg, default=60.0, metavar="S", help="per problem (default 60)")
    p.add_argument("--solver", type=_gap_solver, default="highs", metavar="NAME",
                   help="highs, cbc, lagrange or auto (default highs)")
    p.add_argument("--mip-gap", type=mip_gap_arg, default=0.0, metavar="G", help="relative MIP gap (default 0)")
    p.add_argument("--threads", type=threads_arg, default=None, metavar="N")
    p.add_argument("--problems", nargs="+", type=int, default=None, metavar="N",
                   help="only these problems of each file (1-based; default all)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the rows as a JSON list")
    p.add_argument("--verify", action="store_true",
                   help="compare with the optima table of README.md beside each file (exit 1 on a mismatch)")
    p.add_argument("--optima", type=Path, default=None, metavar="README",
                   help="markdown file with the optima table (implies --verify)")
    p.set_defaults(func=cmd_gap)

    p = bsub.add_parser("gap-gen", help="write a tight-capacity GAP instance (type C, D or E) as an OR-Library file",
                        description="Yagiura-style GAP instances (capacity at 80 % of the average load; types D "
                        "and E are minimisation problems), written in OR-Library format for `landuse bench gap "
                        "FILE --sense min`.")
    p.add_argument("type", type=_gap_type, metavar="TYPE", help="C, D or E")
    p.add_argument("agents", type=_positive_int, metavar="M", help="number of agents (e.g. 5, 10, 20)")
    p.add_argument("jobs", type=_positive_int, metavar="N", help="number of jobs (e.g. 100, 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="file to write (a new file)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=cmd_gap_gen)

    p = bsub.add_parser("generate", help="write a synthetic city as a scenario folder")
    p.add_argument("case", type=_size, help=f"{CASE_HELP}, or a number of parcels")
    out_args(p, "scenario folder to write: new, empty or an earlier output (replaced whole)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--industries", type=int, default=None, metavar="K", help="number of industries (1-20)")
    p.set_defaults(func=cmd_generate)

    p = bsub.add_parser("build-speed", help="our model builder against the idiomatic PuLP model")
    p.add_argument("--parcels", type=int, default=50_000)
    p.add_argument("--industries", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.set_defaults(func=cmd_build_speed)


def cmd_run(args) -> int:
    from optimizer.bench.harness import BENCH_OUTPUTS, PULP_MAX_PAIRS, run_benchmark
    from optimizer.report.write import check_output_target

    check_output_target(args.out, args.force, (), BENCH_OUTPUTS)  # refuse before the benchmark, not after
    results = run_benchmark(args.sizes, args.solvers, args.time_limit, args.mip_gap, args.threads, args.out,
                            baselines=not args.no_baselines,
                            pulp_max_pairs=PULP_MAX_PAIRS if args.pulp_max_pairs is None else args.pulp_max_pairs,
                            keep_plans=args.keep_plans, echo=lambda s: print(s, flush=True),
                            isolate=not args.in_process, force=args.force)
    print(f"wrote {args.out / 'report.md'} and {args.out / 'results.json'}")
    failed = [(r["case"], n) for r in results["sizes"] for n, s in r["solvers"].items() if s["status"] == "error"]
    return 1 if failed else 0


def cmd_gap(args) -> int:
    from optimizer.bench.gap import reference_optima, solve_gap

    senses = ["max", "min"] if args.sense == "both" else [args.sense]
    verify = args.verify or args.optima is not None
    optima: dict = {}
    if args.optima is not None:
        optima = reference_optima(args.optima)
    rows = []
    head = f"{'file':<24}{'problem':>8}  {'sense':<5}{'objective':>14}{'bound':>14}  {'status':<12}{'seconds':>8}"
    if verify:
        head += f"{'expected':>10}  match"
    print(head)
    for file in args.files:
        if verify and args.optima is None and (file.parent / "README.md").is_file():
            optima.update(reference_optima(file.parent / "README.md"))
        for sense in senses:
            for r in solve_gap(file, sense, args.time_limit, args.solver, args.mip_gap, args.threads,
                                   args.problems):
                line = (f"{str(r['file'])[-24:]:<24}{r['problem']:>8}  {r['sense']:<5}{_g(r['objective']):>14}"
                        f"{_g(r['bound']):>14}  {r['status']:<12}{r['seconds']:>8.2f}")
                if verify:
                    exp = optima.get((Path(r["file"]).name, r["problem"], r["sense"]))
                    r["expected"] = exp
                    r["match"] = (exp is not None and r["objective"] is not None and r["status"] == "optimal"
                                  and abs(r["objective"] - exp) <= 1e-6 * max(1.0, abs(exp)))
                    line += f"{_g(exp):>10}  {'yes' if r['match'] else 'NO'}"
                print(line, flush=True)
                rows.append(r)
    if args.json is not None:
        keys = GAP_KEYS + (("expected", "match") if verify else ())
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([{k: r.get(k) for k in keys} for r in rows], indent=1) + "\n")
        print(f"wrote {args.json}")
    if verify:
        bad = [r for r in rows if not r["match"]]
        print(f"{len(rows) - len(bad)} of {len(rows)} match the published optima")
        return 1 if bad else 0
    return 0 if all(r["status"] in ("optimal", "feasible") for r in rows) else 5


def _gap_solver(text: str) -> str:
    from optimizer.solvers import BACKENDS, ENGINES

    if text not in BACKENDS + ENGINES:
        raise argparse.ArgumentTypeError(f"unknown solver {text!r} (choose {', '.join(BACKENDS + ENGINES)})")
    return text


def _gap_type(text: str) -> str:
    from optimizer.bench.gap import GAP_TYPES

    if text.strip().upper() not in GAP_TYPES:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(GAP_TYPES)}, got {text!r}")
    return text.strip().upper()


def _positive_int(text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100,000, got {text!r}") from None
    if not 1 <= v <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100,000, got {text!r}")
    return v


def cmd_gap_gen(args) -> int:
    from optimizer.bench.gap import generate_gap, write_gap
    from optimizer.errors import BadOption

    if args.out.exists() and not (args.force and args.out.is_file()):
        raise BadOption(f"{args.out} exists (a new file is written; --force replaces an existing file)")
    if not args.out.parent.is_dir():
        raise BadOption(f"{args.out.parent} is not a folder")
    p = generate_gap(args.type, args.agents, args.jobs, args.seed)
    write_gap([p], args.out)
    print(f"wrote {args.out} (type {args.type}, {args.agents} agents × {args.jobs} jobs, seed {args.seed}; "
          f"solve with: landuse bench gap {args.out} --sense min)")
    return 0


def _g(v) -> str:
    return "-" if v is None else f"{v:,.6g}"


GENERATE_OUTPUTS = ("scenario.toml", "parcels.csv", "industries.csv", "pairs.csv", "compatibility.csv", "network")


def cmd_generate(args) -> int:
    from optimizer.bench.synthetic import write_city
    from optimizer.report.write import output_folder

    with output_folder(args.out, force=args.force, expect=GENERATE_OUTPUTS) as stage:  # whole or not at all
        write_city(args.case, stage.folder, n_industries=args.industries, seed=args.seed)
    print(f"wrote {args.out} (scenario.toml, parcels.csv, industries.csv, network/)")
    return 0


def cmd_build_speed(args) -> int:
    from optimizer.bench.harness import build_speed

    r = build_speed(args.parcels, args.industries, args.seed)
    print_build_speed(r)
    if args.json is not None:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


def print_build_speed(r: dict, file=None) -> None:
    file = file or sys.stdout
    print(f"{r['n_parcels']:,} parcels × {r['n_industries']} industries: {r['n_pairs']:,} eligible pairs "
          f"(eligibility {r['eligibility_s']:.3f} s)", file=file)
    n = r.get("repeats", 1)
    print(f"  our builder (build_model): {r['ours_build_s']:.3f} s (median of {n}; first run "
          f"{r['ours_first_build_s']:.3f} s)", file=file)
    print(f"  idiomatic PuLP model:      {r['pulp_build_s']:.3f} s (median of {n}; first run "
          f"{r['pulp_first_build_s']:.3f} s; {r['pulp_constraints']:,} constraints)", file=file)
    print(f"  ratio: {r['ratio']:.1f}× faster (medians; first runs {r['first_run_ratio']:.1f}×)", file=file)
