"""The ledger accounts settlement and reconciliation post to, by what they are for (the
chart pack of the deployment says which account plays each role)."""

from __future__ import annotations

from billing import chart


def in_transit_accounts() -> dict[str, str]:
    """The holding accounts the summary reports besides the clearing accounts."""
    code = getattr(chart, "CASH_IN_TRANSIT", "")
    return {"cash_in_transit": code} if code else {}
