"""Programs some checks need besides Python: chromium, nginx, openssl, xgettext, wrk.

On a developer's machine a check whose program is missing is skipped with the reason. Under CI (`CI` set, as
.ci/run is run) every check must run, so a missing program fails the run, with the command that installs it.
"""

import os
import shutil
from collections.abc import Iterable

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tool(name: str, install: str, *, paths: Iterable[str | None] = ()) -> str:
    """Return the path of the program `name`: the first of `paths` that exists, else the one on PATH.

    Without it, fail under CI and skip elsewhere, naming `install`, the command that installs it.
    """
    for path in paths:
        if path and os.path.exists(path):
            return path
    found = shutil.which(name)
    if found:
        return found
    reason = f"{name} is not installed ({install})"
    if under_ci():
        pytest.fail(f"{reason}; under CI every check must run", pytrace=False)
    pytest.skip(reason)
