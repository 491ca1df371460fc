"""Every results table of benchmarks/, regenerated from the current code in one run (issue 13, "honest numbers").

    python benchmarks/regenerate.py [--out benchmarks/results/all-YYYY-MM-DD] [--parts engine families ...]
                                    [--resume] [--list]

Runs each benchmark of this folder with the arguments its published table was made with, one after another, each
in its own child process(es), into a subfolder of OUT per part, with what it printed in OUT/PART.log. OUT/README.md
is the index: per part, the exact commands, when they ran, how long they took, the load average before and after, the
exit codes, the files written and the tail of what the commands printed (the figures). It is rewritten after
each part, so a run that is stopped keeps what it measured; `--resume` continues one, skipping the parts that
ended. OUT must be new (or, with --resume, an earlier run of this script): nothing is overwritten or deleted.

The parts, in the order they run (the issue targets first; `--list` prints them with their commands):
engine (1 M and 100 k parcels at 0.1 %), families (auto, plain HiGHS and CBC at 50,000 parcels, 1 %), gap_tight,
dask, gap (the 120 published optima, HiGHS and CBC), build, cities (s1k, s10k, every backend, baselines),
engine_small (s10k, s50k at 1 % with plain HiGHS), planning, neighbours, phases, sweep, gis, blas. About 1 h 45 min
on a quiet 2-core machine; other jobs on the machine stretch every wall-clock figure (the index records the load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
CLI = [PY, "-m", "optimizer.cli"]
BENCH = REPO / "benchmarks"
GAP_FILES = [f"benchmarks/gap/gap{i}.txt" for i in range(1, 13)]
TAIL_LINES = 60  # lines of each part's printed output kept in the index

# name -> (what it measures, [commands]); "{out}" is the part's folder (relative to the repository when OUT is in it)
PARTS: dict[str, tuple[str, list[list[str]]]] = {
    "engine": ("the engine at 1,000,000 and 100,000 parcels (issue 13: ≤ 30 s and ≤ 4 GB; ≤ 5 s), 0.1 %, each "
               "backend in its own process", [
                   CLI + ["bench", "run", "--sizes", "q1m", "s1m", "--solvers", "lagrange", "--time-limit", "300",
                          "--mip-gap", "0.001", "--no-baselines", "--out", "{out}/1m"],
                   CLI + ["bench", "run", "--sizes", "q100k", "s100k", "t200k", "--solvers", "lagrange", "auto",
                          "--time-limit", "300", "--mip-gap", "0.001", "--no-baselines", "--out", "{out}/100k"]]),
    "families": ("auto against plain HiGHS and CBC at 50,000 parcels on every instance family, 1 % (issue 13: ≥ 40×)",
                 [CLI + ["bench", "run", "--sizes", "s50k", "t50k", "q50000", "--solvers", "auto", "highs", "cbc",
                         "--time-limit", "240", "--mip-gap", "0.01", "--no-baselines", "--out", "{out}"]]),
    "gap_tight": ("tight-capacity GAP instances, types C, D, E, 30 s per problem (issue 13: within 0.1 %)",
                  [[PY, "benchmarks/gap_tight.py", "--types", "C", "D", "E", "--sizes", "10x100", "20x100", "20x200",
                    "--seeds", "1", "--time-limit", "30", "--solvers", "highs", "cbc", "auto", "--out", "{out}"]]),
    "dask": ("the engine's dual in process and on 1 and 2 local Dask workers (issue 13: the same bound)",
             [[PY, "benchmarks/lagrange_dask.py", "--sizes", "s100k", "s1m", "--solve-sizes", "s100k", "--repeat",
               "1", "--quiet-wait", "30", "--out", "{out}"]]),
    "chunked": ("a 1,000,000-parcel scenario solved in 4 parcel chunks, in process and on 1 and 2 local Dask "
                "workers, against the same scenario whole in one process (issue 13: the same bound, a plan within "
                "0.1 %, the speed-up)",
                [[PY, "benchmarks/chunked.py", "--case", "q1m", "--chunk-parcels", "250000", "--workers", "1", "2",
                  "--time-limit", "120", "--work-limit", "60", "--mip-gap", "0.001", "--out", "{out}"]]),
    "gap": ("the 120 published OR-Library GAP optima (60 problems × max and min), HiGHS and CBC",
            [CLI + ["bench", "gap", *GAP_FILES, "--sense", "both", "--verify", "--json", "{out}/gap_highs.json"],
             CLI + ["bench", "gap", *GAP_FILES, "--sense", "both", "--solver", "cbc", "--verify", "--json",
                    "{out}/gap_cbc.json"]]),
    "build": ("model build against the idiomatic PuLP model, 50,000 parcels × 12 industries, medians of three",
              [[PY, "benchmarks/build_speed.py", "--json", "{out}/build_speed.json"]]),
    "cities": ("s1k and s10k with HiGHS and CBC and the baselines (PuLP build, greedy plans, LP relaxation), 1e-4",
               [CLI + ["bench", "run", "--sizes", "s1k", "s10k", "--solvers", "highs", "cbc", "--time-limit", "120",
                       "--mip-gap", "0.0001", "--out", "{out}"]]),
    "engine_small": ("s10k and s50k: plain HiGHS, the engine and auto with the baselines, 1 %",
                     [CLI + ["bench", "run", "--sizes", "s10k", "s50k", "--solvers", "highs", "lagrange", "auto",
                             "--time-limit", "120", "--mip-gap", "0.01", "--out", "{out}"]]),
    "planning": ("issue 7 on Qianhai: output per land (0.1 % in 30 s), the 10-point frontier, rule worth and "
                 "explanations, each against plain HiGHS", [[PY, "benchmarks/planning.py", "--time-limit", "120",
                                                             "--json", "{out}/planning.json"]]),
    "neighbours": ("neighbour rules at 100,000 parcels: auto, plain HiGHS, CBC; neighbour rows at 1,000,000",
                   [[PY, "benchmarks/neighbours.py", "--out", "{out}"]]),
    "phases": ("three phases at 100,000 parcels and the Qianhai phased variant, auto against plain HiGHS",
               [[PY, "benchmarks/phases.py", "--json", "{out}/phases.json"]]),
    "sweep": ("a 64-run Qianhai sweep on Dask (1 and 2 workers) against the same runs one after another",
              [[PY, "benchmarks/sweep_speed.py", "--runs", "64", "--repeat", "1", "--json", "{out}/sweep.json"]]),
    "gis": ("a 1,000,000-parcel GeoParquet layer in EPSG:4547 against the same parcels as CSV",
            [[PY, "benchmarks/gis_load.py", "--json", "{out}/gis_load.json"]]),
    "blas": ("the engine with BLAS single-threaded (as shipped) against BLAS's default threads",
             [[PY, "benchmarks/blas_threads.py", "--json", "{out}/blas.json"]]),
}


def _rel(path: Path) -> Path:
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _shown(cmd: list[str]) -> str:
    """A command as a user would type it (the interpreter as `python`, the CLI as `landuse`)."""
    words = ["landuse"] + cmd[3:] if cmd[:3] == CLI else (["python"] + cmd[1:] if cmd[0] == PY else cmd)
    return " ".join(words)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _index(out: Path, runs: dict, started: str) -> str:
    lines = [f"# Every benchmark table, regenerated in one run ({started})", "",
             f"`{_shown([PY, 'benchmarks/regenerate.py', '--out', str(_rel(out))])}` (code: `{runs.get('_commit', '?')}`).",
             "Machine and package versions: in each part's `results.json` or JSON file. Each part ran alone; the load average (1, 5, 15 min) is recorded before and after it.", "",
             "| part | what | exit codes | minutes | load before → after |", "| --- | --- | --- | ---: | --- |"]
    for name, (what, _) in PARTS.items():
        r = runs.get(name)
        if r is None:
            lines.append(f"| {name} | {what} | not run | – | – |")
            continue
        lines.append(f"| [{name}](#{name}) | {what} | {', '.join(map(str, r['exit_codes']))} | {r['seconds'] / 60:.1f} | "
                     f"{r['load_before']} → {r['load_after']} |")
    for name in PARTS:
        r = runs.get(name)
        if r is None:
            continue
        lines += ["", f"## {name}", "", f"{r['started']} to {r['ended']} UTC, {r['seconds'] / 60:.1f} min.", "",
                  "```sh", *r["commands"], "```", "", "Files: " + ", ".join(f"`{f}`" for f in r["files"]) + ".",
                  "", f"What the commands printed (the last lines of `{r['files'][0]}`):", "", "```", *r["tail"], "```"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="new folder (default benchmarks/results/all-DATE)")
    ap.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    ap.add_argument("--resume", action="store_true", help="continue an earlier run in OUT, skipping its ended parts")
    ap.add_argument("--list", action="store_true", help="print the parts and their commands, run nothing")
    args = ap.parse_args(argv)
    out = (args.out or BENCH / "results" / f"all-{time.strftime('%Y-%m-%d')}").resolve()
    rel = _rel(out)
    if args.list:
        for name in args.parts:
            what, cmds = PARTS[name]
            print(f"{name}: {what}")
            for c in cmds:
                print("    " + _shown([w.replace("{out}", str(rel / name)) for w in c]))
        return 0
    state = out / "index.json"
    if args.resume:
        if not state.is_file():
            print(f"error: --resume: {out} holds no earlier run of this script (no index.json)", file=sys.stderr)
            return 2
        runs = json.loads(state.read_text(encoding="utf-8"))
    else:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            print(f"error: --out {out}: exists and is not an empty folder; give a new one (nothing is overwritten)",
                  file=sys.stderr)
            return 2
        out.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        runs = {"_commit": commit.stdout.strip() + (" with uncommitted changes" if dirty else ""),
                "_started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for name in args.parts:
        if name in runs:
            print(f"{name}: ended in the earlier run, skipped", flush=True)
            continue
        what, cmds = PARTS[name]
        folder = out / name
        if folder.exists():  # a part that was stopped midway: its files stay, the part runs beside them
            folder = out / f"{name}-{time.strftime('%H%M%S')}"
        logfile = out / f"{folder.name}.log"  # beside the folder, which the commands create (a run needs it new)
        part_rel = rel / folder.name
        shown, codes = [], []
        load_before, t0, started = _load(), time.perf_counter(), time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        print(f"{name}: {what}", flush=True)
        with open(logfile, "a", encoding="utf-8") as log:
            for c in cmds:
                cmd = [w.replace("{out}", str(part_rel)) for w in c]
                shown.append(_shown(cmd))
                print("  $ " + shown[-1], flush=True)
                log.write(f"$ {shown[-1]}\n")
                log.flush()
                codes.append(subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode)
        text = logfile.read_text(encoding="utf-8", errors="replace").splitlines()
        runs[name] = {"commands": shown, "exit_codes": codes, "started": started,
                      "ended": time.strftime("%H:%M", time.gmtime()), "seconds": round(time.perf_counter() - t0, 1),
                      "load_before": load_before, "load_after": _load(), "tail": text[-TAIL_LINES:],
                      "files": [logfile.name] + sorted(str(p.relative_to(out)) for p in folder.rglob("*") if p.is_file())}
        print(f"  exit {codes}, {runs[name]['seconds'] / 60:.1f} min", flush=True)
        _write_atomic(state, json.dumps(runs, indent=1))
        _write_atomic(out / "README.md", _index(out, runs, runs["_started"]))
    return 0 if all(c == 0 for k, r in runs.items() if not k.startswith("_") for c in r["exit_codes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
