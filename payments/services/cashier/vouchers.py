"""The desk's own cash entries (floats, counts, handovers, transfers), each filed under the
voucher the accountant's cash book needs: numbered by the session or the transfer it belongs
to, recorded by the person who acted."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User

from billing.services.ledger import Posting, ledger_post


def cash_voucher_post(
    key: str,
    source: tuple[str, str],
    lines: Sequence[Posting],
    memo: str,
    *,
    voucher_type: str,
    by: User,
) -> None:
    """Post ``lines`` once under ``key``; ``source`` is (source type, public id), the public
    id being the voucher's number."""
    source_type, public_id = source
    ledger_post(
        posting_key=key,
        lines=lines,
        source_type=source_type,
        source_id=public_id,
        memo=memo,
        voucher_type=voucher_type,
        voucher_number=public_id,
        recorded_by=by.get_username(),
    )
