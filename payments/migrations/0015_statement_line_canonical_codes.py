"""Statement lines stored before memo codes were read canonically (issue 14): a line whose
memo carries our code rewritten ("VP 7K2Q9", "vp-7k2q9") gets the code as its match code,
and a line without the bank's reference is re-keyed on its code (account, date, direction,
amount, currency, code, ordinal — the n-th such line in id order), so a feed reporting it
after the upgrade lands on it instead of adding a second line. Lines with a reference keep
their key; nothing is merged (two lines stored for one transfer before stay for finance)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 2000


def canonical_codes(apps: Any, schema_editor: Any) -> None:
    from payments.providers.bank_feeds import find_memo_codes
    from payments.services.statements import (
        CODE_PREFIXES,
        line_dedupe_key,
        line_match_code,
        stored_line_facts,
    )

    line_model = apps.get_model("payments", "StatementLine")
    payment_model = apps.get_model("payments", "Payment")
    deposit_model = apps.get_model("payments", "CashDeposit")

    def issued(codes: set[str]) -> set[str]:
        found = set(payment_model.objects.filter(memo_code__in=codes).values_list("memo_code", flat=True))
        return found | set(deposit_model.objects.filter(code__in=codes).values_list("code", flat=True))

    ordinals: dict[tuple[object, ...], int] = {}
    changed = []
    lines = line_model.objects.filter(match_code="") | line_model.objects.filter(bank_reference="")
    for line in lines.order_by("id").iterator(chunk_size=BATCH):
        codes = find_memo_codes(line.description, CODE_PREFIXES)
        if not codes:
            loose = find_memo_codes(line.description, CODE_PREFIXES, tolerant=True)
            known = issued(set(loose)) if loose else set()
            codes = [code for code in loose if code in known]
        code = codes[0] if len(codes) == 1 else ""
        match_code = line.match_code or line_match_code(line.description, codes)
        key = line.dedupe_key
        if not line.bank_reference and code:
            facts = stored_line_facts(line, code)
            group = (facts.account_number, facts.booked_on, facts.direction, facts.amount, facts.currency, code)
            ordinals[group] = ordinals.get(group, 0) + 1
            key = line_dedupe_key(facts, ordinals[group])
        if (match_code, key) != (line.match_code, line.dedupe_key):
            line.match_code, line.dedupe_key = match_code, key
            changed.append(line)
        if len(changed) >= BATCH:
            line_model.objects.bulk_update(changed, ["match_code", "dedupe_key"])
            changed = []
    if changed:
        line_model.objects.bulk_update(changed, ["match_code", "dedupe_key"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0014_payment_idempotency_key_index")]

    operations = [migrations.RunPython(canonical_codes, migrations.RunPython.noop)]
