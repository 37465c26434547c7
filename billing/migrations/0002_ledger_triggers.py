"""PostgreSQL guards for the ledger that no code path can bypass.

* every journal entry has at least two lines and balances per currency, checked at commit
  (a deferred constraint trigger queued by each line, so that a line added after
  ``SET CONSTRAINTS ... IMMEDIATE`` forced the check early is checked too, and by each
  entry, so that an entry without lines is refused);
* lines can be added to an entry only in the transaction that created it;
* journal entries and lines can be neither updated nor deleted;
* an account's currency and type cannot change once lines point to it.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE billing_journalentry
    ADD COLUMN created_txid bigint NOT NULL DEFAULT txid_current();

CREATE FUNCTION ledger_entry_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_txid := txid_current();
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_entry_stamp BEFORE INSERT ON billing_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_stamp();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % refused, posted ledger rows are append-only; post a reversing entry',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON billing_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_line_append_only BEFORE UPDATE OR DELETE ON billing_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE FUNCTION ledger_line_same_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM billing_journalentry
                   WHERE id = NEW.entry_id AND created_txid = txid_current()) THEN
        RAISE EXCEPTION 'ledger: entry % is already posted; lines cannot be added to it',
            NEW.entry_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_line_same_transaction BEFORE INSERT ON billing_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_line_same_transaction();

-- Queued by each new line for its entry, so a line inserted after the check was forced
-- early (SET CONSTRAINTS ... IMMEDIATE) is checked too; the last line's check always sees
-- the entry complete. Queued by each new entry as well, for an entry left without lines.
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_entry_id bigint;
    line_count integer;
    bad record;
BEGIN
    IF TG_TABLE_NAME = 'billing_journalentry' THEN
        IF EXISTS (SELECT 1 FROM billing_journalline WHERE entry_id = NEW.id) THEN
            RETURN NULL;  -- its lines' checks cover it
        END IF;
        checked_entry_id := NEW.id;
    ELSE
        checked_entry_id := NEW.entry_id;
    END IF;
    SELECT count(*) INTO line_count FROM billing_journalline WHERE entry_id = checked_entry_id;
    IF line_count < 2 THEN
        RAISE EXCEPTION 'ledger: entry % has % line(s); an entry needs at least two',
            checked_entry_id, line_count USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT a.currency, sum(l.debit) AS debit, sum(l.credit) AS credit INTO bad
        FROM billing_journalline l JOIN billing_account a ON a.id = l.account_id
        WHERE l.entry_id = checked_entry_id
        GROUP BY a.currency
        HAVING sum(l.debit) <> sum(l.credit)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry % is unbalanced in %: debit % <> credit %',
            checked_entry_id, bad.currency, bad.debit, bad.credit
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON billing_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_line_balanced AFTER INSERT ON billing_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE FUNCTION ledger_account_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.currency <> OLD.currency OR NEW.type <> OLD.type OR NEW.code <> OLD.code)
       AND EXISTS (SELECT 1 FROM billing_journalline WHERE account_id = OLD.id) THEN
        RAISE EXCEPTION 'ledger: account % has postings; its code, type and currency are fixed',
            OLD.code USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_account_frozen BEFORE UPDATE ON billing_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_frozen();
"""

BACKWARD = r"""
DROP TRIGGER ledger_account_frozen ON billing_account;
DROP FUNCTION ledger_account_frozen();
DROP TRIGGER ledger_line_balanced ON billing_journalline;
DROP TRIGGER ledger_entry_balanced ON billing_journalentry;
DROP FUNCTION ledger_entry_balanced();
DROP TRIGGER ledger_line_same_transaction ON billing_journalline;
DROP FUNCTION ledger_line_same_transaction();
DROP TRIGGER ledger_line_append_only ON billing_journalline;
DROP TRIGGER ledger_entry_append_only ON billing_journalentry;
DROP FUNCTION ledger_append_only();
DROP TRIGGER ledger_entry_stamp ON billing_journalentry;
DROP FUNCTION ledger_entry_stamp();
ALTER TABLE billing_journalentry DROP COLUMN created_txid;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
