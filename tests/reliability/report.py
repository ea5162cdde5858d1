"""Print the table of the reliability scenarios from their last run: `python -m tests.reliability.report`.

Each scenario writes var/reliability/<scenario>.json when it runs (tests/reliability/support.record). The exit
status is 1 when a scenario is missing or lost, duplicated or failed anything.
"""

import json
import sys
import textwrap
from pathlib import Path

VAR = Path(__file__).resolve().parent.parent.parent / "var" / "reliability"
SCENARIOS = [
    "esp-outage",
    "broker-outage",
    "worker-kill-fanout",
    "worker-kill-sweep",
    "postgres-restart",
    "load",
    "scale-out",
    "two-beats",
    "hostile-forms",
    "hostile-api",
    "hostile-catalogue",
    "service-down",
]
COLUMNS = [
    ("filed", "filed"),
    ("stored", "stored"),
    ("refused", "refused"),
    ("emails", "queued"),
    ("sent", "sent"),
    ("duplicates", "dupl."),
    ("lost", "lost"),
    ("errors_5xx", "5xx"),
]
MUST_BE_ZERO = ("duplicates", "lost", "errors_5xx")
DONE_WIDTH = 58


def main() -> int:
    rows, problems = [], []
    for name in SCENARIOS:
        path = VAR / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}: did not run (no {path.relative_to(VAR.parent.parent)})")
            continue
        data = json.loads(path.read_text())
        counts = data["counts"]
        rows.append((name, data["done"], counts))
        problems += [f"{name}: {key} = {counts[key]}" for key in MUST_BE_ZERO if counts.get(key)]
    headers = ["scenario", "what was done"] + [label for _key, label in COLUMNS]
    widths = [max([len("scenario")] + [len(name) for name, _d, _c in rows]), DONE_WIDTH] + [
        max(len(label), *(len(str(counts.get(key, "-"))) for _n, _d, counts in rows)) if rows else len(label)
        for key, label in COLUMNS
    ]
    line = "+".join("-" * (width + 2) for width in widths)
    print(line)
    print("|".join(f" {header:<{width}} " for header, width in zip(headers, widths, strict=True)))
    print(line)
    for name, done, counts in rows:
        wrapped = textwrap.wrap(done, DONE_WIDTH) or [""]
        for index, text in enumerate(wrapped):
            cells = [name if index == 0 else "", text]
            cells += [str(counts.get(key, "-")) if index == 0 else "" for key, _label in COLUMNS]
            print(
                "|".join(
                    f" {cell:<{width}} " if position < 2 else f" {cell:>{width}} "
                    for position, (cell, width) in enumerate(zip(cells, widths, strict=True))
                )
            )
        print(line)
    if problems:
        print("\nNOT OK:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nEvery scenario ran; nothing lost, nothing sent twice, no 5xx.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
