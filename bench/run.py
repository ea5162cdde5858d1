"""Run every benchmark scenario with its baseline in the same run and print one table.

python -m bench.run --size small|full [--only NAME ...] [--strict]

Exits 1 when a scenario fails to run (with --strict also when a target is missed); a missed target alone
is reported in the table, since ratios measured on a busy machine are noisy. A scenario that needs wrk is
skipped with the reason where wrk is missing, except under CI (`CI` set), where that fails the run.
"""

import argparse
import importlib
import signal
import sys
import time
import traceback

import pytest

from bench.common import SIZES, Row, print_table, setup_django
from tests.support.tools import require_tool

SCENARIOS: list[str] = ["pages", "withdraw", "admin_lists", "sweep", "fanout", "delivery"]
# Scenarios that put load on a server with wrk.
NEEDS_WRK = {"pages", "withdraw"}


def _terminate(signum, frame):
    # Unwind like Ctrl-C, so every scenario stops the servers and workers it started.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--only", nargs="*", default=None, help="run only these scenario modules")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    setup_django()
    rows: list[Row] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in args.only or SCENARIOS:
        print(f"running {name} ({args.size}) ...", file=sys.stderr, flush=True)
        scenario_started = time.perf_counter()
        try:
            if name in NEEDS_WRK:
                # Skips the scenario on a developer's machine without wrk; fails it under CI.
                require_tool("wrk", "apt-get install wrk")
            module = importlib.import_module(f"bench.{name}")
            rows.extend(module.run(SIZES[args.size]))
        except pytest.skip.Exception as skipped:
            print(f"  {name}: skipped: {skipped.msg}", file=sys.stderr, flush=True)
            continue
        except pytest.fail.Exception as failure:
            print(f"  {name}: {failure.msg}", file=sys.stderr, flush=True)
            failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"  {name}: {time.perf_counter() - scenario_started:.0f} s", file=sys.stderr, flush=True)
    print_table(rows)
    print(f"\n{args.size} size, {time.perf_counter() - started:.0f} s in all", file=sys.stderr)
    if failed:
        print(f"scenarios that failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 1 if args.strict and not all(row.passed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
