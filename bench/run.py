"""Run every benchmark scenario with its baseline in the same run and print one table.

python -m bench.run --size small|full [--only NAME ...]
"""

import argparse
import importlib
import sys

from bench.common import SIZES, print_table, setup_django

SCENARIOS: list[str] = ["pages", "withdraw", "admin_lists", "sweep", "fanout", "delivery"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--only", nargs="*", default=None, help="run only these scenario modules")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    setup_django()
    rows = []
    for name in args.only or SCENARIOS:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ({args.size}) ...", file=sys.stderr, flush=True)
        rows.extend(module.run(SIZES[args.size]))
    print_table(rows)
    return 1 if args.strict and not all(row.passed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
