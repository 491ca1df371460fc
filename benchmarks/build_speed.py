"""Model-build speed: our vectorised builder against the same model written idiomatically in PuLP.

Builds the MILP of a synthetic city of 50,000 parcels × 12 industries (same scenario, same eligible pairs)
with `optimizer.model.build_model` and with `optimizer.bench.baselines.pulp_model` in one run, and prints both
times and their ratio. The requirement: our build under 1 s and at least 10× faster than PuLP.

    python benchmarks/build_speed.py [--parcels N] [--industries K] [--json OUT]

(`landuse bench build-speed` runs the same measurement.) Exit code 1 if the requirement is not met.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from optimizer.bench.cli import print_build_speed
from optimizer.bench.harness import build_speed, machine_info, package_versions

MAX_BUILD_S = 1.0
MIN_RATIO = 10.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=50_000)
    ap.add_argument("--industries", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    r = build_speed(args.parcels, args.industries, args.seed)
    print_build_speed(r)
    fast = r["ours_build_s"] < MAX_BUILD_S
    ratio_ok = r["ratio"] >= MIN_RATIO
    print(f"  requirement: build < {MAX_BUILD_S:g} s: {'met' if fast else 'NOT met'}; "
          f">= {MIN_RATIO:g}x faster than PuLP: {'met' if ratio_ok else 'NOT met'}")
    if args.json is not None:
        r = dict(r, machine=machine_info(), versions=package_versions())
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=1) + "\n", encoding="utf-8")
    return 0 if fast and ratio_ok else 1


if __name__ == "__main__":
    sys.exit(main())
