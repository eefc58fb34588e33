"""Browser helpers of the demo's tests: Playwright driving Debian's chromium (DESIGN.md §3) and axe-core, the pinned
copy the issuer's admin UI test installs (tests/issuer/web/axe, ``npm ci`` on demand, under its lock)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_DIR = Path(__file__).resolve().parents[1] / "issuer" / "web" / "axe"
#: WCAG 2.1 A and AA (BITV 2.0 refers to EN 301 549, which takes WCAG 2.1 AA).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
NPM_TIMEOUT_S = 300


def install_axe() -> str | None:
    """``npm ci`` of the pinned axe-core unless present; the reason it cannot run, or ``None``."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH"
    pinned = json.loads((AXE_DIR / "package.json").read_text("utf-8"))["dependencies"]["axe-core"]
    installed = AXE_DIR / "node_modules" / "axe-core" / "package.json"

    def present() -> bool:
        return installed.is_file() and json.loads(installed.read_text("utf-8")).get("version") == pinned

    if present():
        return None
    with (AXE_DIR / ".npm-install.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not present():
                done = subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=AXE_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT_S,
                    check=False,
                )
                if done.returncode != 0:
                    return f"npm ci of axe-core failed: {done.stderr.strip()[-300:]}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm ci of axe-core failed: {exc}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None if present() else "axe-core is not installed after npm ci"


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations of the page with one of ``impacts`` (rule, impact, first targets)."""
    page.add_script_tag(path=str(AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def focused(page: Any) -> dict[str, str]:
    """The focused element: tag, id, text and its focus styles (outline, box shadow)."""
    return dict(
        page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return {tag: e.tagName, id: e.id, text: e.textContent.trim(), outline: s.outlineStyle,"
            " shadow: s.boxShadow}; }"
        )
    )


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (a module fixture yields it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def running_demo(data_dir: Path) -> Iterator[Any]:
    """The whole demo stack (``govssi.demo.stack.DemoStack``) on six consecutive free loopback ports."""
    from test_demo_boot import _free_block

    from govssi.demo.stack import DemoConfig, DemoStack

    base = _free_block(6)
    stack = DemoStack(
        DemoConfig(
            data_dir=data_dir,
            start_port=base,
            issuer_port=base + 1,
            verifier_port=base + 2,
            wallet_port=base + 3,
            portal_port=base + 4,
            chain_port=base + 5,
        )
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
