"""axe-core in the browser tests: the copy bundled with axe-playwright-python, injected into
the page under test through Playwright (so the page's Content-Security-Policy, which allows
no such script, is not loosened for it)."""

from __future__ import annotations

import json
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS

BLOCKING = ("serious", "critical")
_axe = Axe()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every violation axe-core finds on the page as it is now (WCAG 2.x A and AA rules and
    best practices)."""
    results = _axe.run(page, options={"resultTypes": ["violations"]})
    return list(results.response["violations"])


def assert_accessible(page: Page, name: str) -> list[dict[str, Any]]:
    """No serious or critical violation; the full report is kept in
    test-artifacts/axe/<name>.json (minor and moderate ones are returned, not failed)."""
    violations = axe_violations(page)
    report = ARTIFACTS / "axe" / f"{name}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(violations, indent=2, ensure_ascii=False))
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    assert not blocking, f"{name}: axe-core found " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in blocking
    )
    return violations
