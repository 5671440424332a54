"""``python -m bench``: every benchmark, side by side, then results.json and the README table.

python -m bench                  # the full run (make bench)
python -m bench --quick          # smaller: one round each, fewer edits
python -m bench --only rest,storage
python -m bench --only split     # several processes (needs PostgreSQL and redis-server)
python -m bench --profile        # also sample the playsync server with py-spy
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from .common import BENCH, log, machine
from .report import evaluate_targets, update_readme

SECTIONS = ("fanout", "rest", "storage", "memory", "gate", "split")

FULL = {
    "fanout": {
        "sizes": [50, 200, 1000],
        "rounds": 3,  # issue 14: the median of the rounds
        "latency_updates": 50,
        "burst": {50: 400, 200: 150, 1000: 40},
        "join_timeout": 30,
        "idle_rooms": 100,
        "nodeflate": False,
        "nogate": True,
        "uvloop": False,
    },
    "rest": {"rounds": 4, "seconds": 3.0, "votes_per_round": 1500},
    "storage": {"edits": 100_000, "per_commit": 50},
    "memory": {"playlists": 100},
    "gate": {"updates": 6000, "history": 20_000},
    "split": {"peers": 100, "rounds": 3, "updates": 30, "burst": 100},
}
QUICK = {
    "fanout": {
        "sizes": [50, 200, 1000],
        "rounds": 1,
        "latency_updates": 15,
        "burst": {50: 200, 200: 80, 1000: 20},
        "join_timeout": 20,
        "idle_rooms": 30,
        "nodeflate": False,
        "nogate": False,
        "uvloop": False,
    },
    "rest": {"rounds": 2, "seconds": 2.0, "votes_per_round": 500},
    "storage": {"edits": 20_000, "per_commit": 50},
    "memory": {"playlists": 30},
    "gate": {"updates": 2000, "history": 5000},
    "split": {"peers": 100, "rounds": 1, "updates": 15, "burst": 50},
}


def _run_section(name: str, config: dict, workdir: Path, profiler) -> dict:
    if name == "fanout":
        from .fanout import fanout_section

        return fanout_section(workdir, profiler=profiler, **config)
    if name == "rest":
        from .rest import rest_section

        return rest_section(workdir, profiler=profiler, **config)
    if name == "storage":
        from .storage_bench import storage_section

        return storage_section(workdir, **config)
    if name == "gate":
        from .gate_bench import gate_section

        return gate_section(workdir, **config)
    if name == "split":
        from .multiprocess import split_section

        return split_section(workdir, **config)
    from .memory import memory_section

    return memory_section(workdir, **config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (a few minutes)")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--profile", action="store_true", help="py-spy the server (fan-out, REST)")
    parser.add_argument("--sizes", help="fan-out peer counts instead of 50,200,1000")
    parser.add_argument(
        "--awareness", action="store_true", help="fan-out peers publish awareness (presence)"
    )
    parser.add_argument(
        "--nodeflate",
        action="store_true",
        help="fan-out: also playsync with peers that do not offer permessage-deflate",
    )
    parser.add_argument(
        "--uvloop", action="store_true", help="fan-out: also playsync on uvloop (--event-loop)"
    )
    parser.add_argument(
        "--nogate",
        action="store_true",
        help="fan-out: also playsync with the gate off, to price it (always in the full run)",
    )
    parser.add_argument("--output", type=Path, default=BENCH / "results.json")
    parser.add_argument("--readme", type=Path, default=BENCH / "README.md")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the table")
    parser.add_argument(
        "--render", action="store_true", help="only regenerate the table from --output's results"
    )
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads(args.output.read_text())
        results["targets"] = evaluate_targets(results)
        update_readme(args.readme, results)
        log(f"updated {args.readme} from {args.output}")
        return 0
    sections = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    plan = copy.deepcopy(QUICK if args.quick else FULL)
    if args.sizes:
        plan["fanout"]["sizes"] = [int(n) for n in args.sizes.split(",")]
        for n in plan["fanout"]["sizes"]:
            plan["fanout"]["burst"].setdefault(n, 100)
    plan["fanout"]["awareness"] = args.awareness
    plan["fanout"]["nodeflate"] = plan["fanout"]["nodeflate"] or args.nodeflate
    plan["fanout"]["nogate"] = plan["fanout"]["nogate"] or args.nogate
    plan["fanout"]["uvloop"] = args.uvloop

    started = time.monotonic()
    results: dict = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m bench" + (" " + shlex.join(argv or sys.argv[1:])).rstrip(),
            "mode": "quick" if args.quick else "full",
            "machine": machine(),
            "plan": {name: plan[name] for name in sections},
        }
    }
    with tempfile.TemporaryDirectory(prefix="playsync-bench-") as tmp:
        workdir = Path(tmp)
        profiler = None
        if args.profile:
            from .profiling import Profiler

            profiler = Profiler(BENCH / "profiles")
        for name in sections:
            log(f"== {name} ==")
            section_started = time.monotonic()
            try:
                results[name] = _run_section(name, plan[name], workdir, profiler)
            except Exception as exc:
                traceback.print_exc()
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            results[name]["seconds"] = time.monotonic() - section_started
            log(f"{name}: {results[name]['seconds']:.0f} s")
        if profiler is not None:
            results["profiles"] = profiler.results
    results["meta"]["seconds"] = time.monotonic() - started
    results["targets"] = evaluate_targets(results)
    args.output.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    log(f"wrote {args.output}")
    if not args.no_readme:
        update_readme(args.readme, results)
        log(f"updated {args.readme}")
    for target in results["targets"]:
        mark = "met   " if target["met"] else "MISSED"
        print(f"{mark} {target['target']}: {target['value']} ({target['rule']})")
    # A section that crashed reports nothing: say so, and fail the command, so that a
    # broken bench is not read as a quiet one.
    failed = [name for name in sections if "error" in results[name]]
    for name in failed:
        print(f"ERROR  section {name}: {results[name]['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
