"""What the browser tests share: axe-core, the sideways-scroll check, signing in, screenshots."""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
# `make screenshots` sets SCREENSHOTS_DIR=docs/screenshots; otherwise the pictures go to a temporary folder.
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"

_axe = Axe()


def axe_violations(page) -> list[str]:
    """Run axe-core on the page; return one line per violation (rule, impact, the first few nodes)."""
    results = _axe.run(page, options={"resultTypes": ["violations"]})
    lines = []
    for violation in results.response["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        lines.append(
            f"{page.url}: {violation['id']} ({violation['impact']}) x{len(violation['nodes'])} {targets}"
        )
    return lines


def sideways_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it fits the viewport)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def sign_in(page, client, live_server, user) -> None:
    """Give the browser a session of `user` (logged in through Django's test client)."""
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def screenshot(page, name: str, tmp_path: Path, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as `name`.png under SCREENSHOTS_DIR (docs/screenshots) or `tmp_path`."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path
