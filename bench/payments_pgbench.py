"""The payments benchmark's raw side: pgbench sending the app's own statements.

* **capture**: the app's statements for one payment (create, confirm, and what the worker
  does for it) are read from the PostgreSQL server's log. ``log_statement = 'all'`` is set
  on the bench database only (``ALTER DATABASE … SET``, for the sessions of a server and a
  worker started for the capture alone), never in the server's configuration;
* **check**: ``bench/payments.pgbench`` must send the same statements — compared as shapes
  (literals, parameters and pgbench variables as ``?``, identifiers unquoted, savepoint names
  dropped) in the same order, the same ``BEGIN``/``SAVEPOINT``/``COMMIT`` included. A
  difference stops the benchmark with both sequences: the app changed, the script must
  follow;
* **run**: pgbench (the server package's own client) with 8 clients, warm, in both protocols
  (``-M prepared`` and ``-M simple``), closed loop for the peak, then ``--rate`` at a quarter
  of the prepared peak with a per-transaction latency log (≥ 2,000 samples) for its p99.

One pgbench transaction is one payment: the create request's statements, the confirm
request's, then the worker's (outbox relay, receipt issue, receipt PDF), each in the
transactions the app uses.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench.database import BENCH_DB, DATABASE_URL, raw_connect

SCRIPT = Path(__file__).resolve().parent / "payments.pgbench"
WINDOWS = ("create", "confirm", "worker")
# What a session sends once when it connects (a new web or worker connection): not part of a
# payment; pgbench keeps its connections.
# The capture's own polling connection says it is not to be logged: not the app's either.
CONNECTION_SETUP = re.compile(
    r"^select set_config\(\?, \?, false\)$|^set time zone |^set log_statement "
)

# '%m [%p] %q%u@%d ' (Debian's default log_line_prefix): time, backend pid, user@database.
_LOG_LINE = re.compile(
    r"^\S+ \S+ \S+ \[(?P<pid>\d+)\] (?P<user>[^@\s]*)@(?P<db>\S*) (?P<level>[A-Z]+):  (?P<text>.*)$"
)
_STATEMENT = re.compile(r"^(?:statement|execute [^:]+): (?P<sql>.*)$", re.DOTALL)


# --- shapes ------------------------------------------------------------------------------

_STRING = re.compile(r"(?:\b[Ee])?'(?:[^']|'')*'")
_QUOTED_NAME = re.compile(r'"([^"]+)"')
_PLACEHOLDER = re.compile(r"\$\d+|(?<![:\w]):[A-Za-z_]\w*|\bnow\(\)|\b\d+(?:\.\d+)?\b")
_CAST = re.compile(r"\?(?:::[a-z_ ]+?(?:\[\])?)+(?=[\s,);]|$)")
_FOLD = re.compile(r"\?\s*(?:\|\||\+|-)\s*\?|\(\?\)")
# NULL as a value (client-side binding writes it, server-side binding sends a parameter);
# not in IS [NOT] NULL.
_NULL = re.compile(r"(?<!is )(?<!not )\bnull\b")
_SAVEPOINT = re.compile(r"^(savepoint|release savepoint|rollback to savepoint) \S+$")


def shape(statement: str) -> str:
    """A statement with its values taken out: what the app and the script must agree on."""
    text = _STRING.sub("?", statement.strip().rstrip(";"))
    text = _QUOTED_NAME.sub(r"\1", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _NULL.sub("?", " ".join(text.split()).lower())
    previous = None
    while previous != text:
        previous = text
        text = _CAST.sub("?", text)
        text = _FOLD.sub("?", text)
    return _SAVEPOINT.sub(r"\1", text)


# --- the server's log --------------------------------------------------------------------


def server_log_path() -> Path:
    """The server's log file: ``PGBENCH_SERVER_LOG``, else ``pg_current_logfile()`` (with
    the logging collector), else Debian's ``/var/log/postgresql/postgresql-<major>-main.log``."""
    if os.environ.get("PGBENCH_SERVER_LOG"):
        return Path(os.environ["PGBENCH_SERVER_LOG"])
    with raw_connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_current_logfile(), current_setting('data_directory'),"
            " current_setting('server_version_num')::int / 10000"
        ).fetchone()
    assert row is not None
    current, data_directory, major = row
    if current:
        path = Path(current)
        return path if path.is_absolute() else Path(data_directory) / path
    return Path(f"/var/log/postgresql/postgresql-{major}-main.log")


def log_statements(text: str, database: str) -> list[tuple[int, str]]:
    """(backend pid, statement) of ``database``'s sessions, in the log's order."""
    found: list[list[object]] = []
    current: list[object] | None = None
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            current = None
            if match["db"] == database and match["level"] == "LOG":
                statement = _STATEMENT.match(match["text"])
                if statement:
                    current = [int(match["pid"]), statement["sql"]]
                    found.append(current)
        elif line.startswith("\t") and current is not None:
            current[1] = f"{current[1]}\n{line[1:]}"
    return [(int(pid), str(statement)) for pid, statement in found]  # type: ignore[call-overload]


@dataclass(slots=True)
class Capture:
    """The app's statements of one payment, by window (create, confirm, worker)."""

    statements: dict[str, list[str]]

    def shapes(self) -> dict[str, list[str]]:
        return {
            window: [s for s in map(shape, statements) if not CONNECTION_SETUP.match(s)]
            for window, statements in self.statements.items()
        }

    def counts(self) -> str:
        parts = []
        for window, shapes in self.shapes().items():
            commits = sum(s == "commit" for s in shapes)
            savepoints = sum(s == "savepoint" for s in shapes)
            parts.append(
                f"{window} {len(shapes)} statements ({commits} commits, {savepoints} savepoints)"
            )
        return ", ".join(parts)


@contextmanager
def statement_logging() -> Iterator[None]:
    """``log_statement = 'all'`` for new sessions of the bench database only."""
    name = sql.Identifier(BENCH_DB)
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET log_statement = 'all'").format(name))
    try:
        yield
    finally:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} RESET log_statement").format(name))


def quiet_connect() -> psycopg.Connection:
    """A connection whose own statements stay out of the log (the capture's polling)."""
    conn = raw_connect(autocommit=True)
    conn.execute("SET log_statement = 'none'")
    return conn


WEB_APPLICATION = "vienphi-bench-web"  # PGAPPNAME of the bench's gunicorn


def web_backends() -> set[int]:
    """The backend pids of the bench's gunicorn workers (persistent connections)."""
    with quiet_connect() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (BENCH_DB, WEB_APPLICATION),
        ).fetchall()
    return {int(r[0]) for r in rows}


def capture(steps: dict[str, Callable[[], None]]) -> Capture:
    """Run the steps (the create request, the confirm request, then a wait for the worker
    to finish the payment) and sort what the bench database's sessions sent meanwhile: the
    web's sessions (``application_name``) by the request that was running, everything else
    (the worker's sessions, a new one per task) as the worker's. The caller runs this under
    :func:`statement_logging`, against a server and worker started inside it."""
    path = server_log_path()
    chunks: dict[str, list[tuple[int, str]]] = {}
    for window, step in steps.items():
        start = path.stat().st_size
        step()
        time.sleep(0.3)  # the log is written by the backends as they go
        with path.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", errors="replace")
        chunks[window] = log_statements(text, BENCH_DB)
    web = web_backends()
    if not web:
        raise RuntimeError(f"no session of {WEB_APPLICATION} on {BENCH_DB} to tell the web by")
    statements = {window: [s for pid, s in chunks[window] if pid in web] for window in WINDOWS[:2]}
    statements["worker"] = [s for chunk in chunks.values() for pid, s in chunk if pid not in web]
    for window, found in statements.items():
        if not found:
            raise RuntimeError(f"no statement of {BENCH_DB} in {path} for the {window}")
    return Capture(statements)


# --- the script --------------------------------------------------------------------------

_SECTION = re.compile(r"^-- window: (\w+)")


def script_statements(text: str) -> dict[str, list[str]]:
    """The script's SQL commands by window (``-- window: <name>`` lines), meta-commands
    (``\\set``) left out, ``\\gset`` taken as the end of its query."""
    windows: dict[str, list[str]] = {}
    current: list[str] | None = None
    buffer: list[str] = []
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        section = _SECTION.match(line)
        if section:
            current = windows.setdefault(section[1], [])
            continue
        if not buffer and (not line or line.startswith("--") or line.startswith("\\")):
            continue
        ends = line.endswith(";") or re.search(r"\\gset(?: \w+)?$", line)
        if ends:
            line = re.sub(r"\s*\\gset(?: \w+)?$", "", line)
        buffer.append(line)
        if ends:
            if current is None:
                raise ValueError("a statement before the first '-- window:' line")
            current.append("\n".join(buffer))
            buffer = []
    if buffer:
        raise ValueError(f"unterminated statement: {buffer[0][:80]}")
    return windows


def check_script(captured: Capture, script: str) -> None:
    """Stop the benchmark if the script no longer sends what the app sends."""
    app = captured.shapes()
    raw = {window: [shape(s) for s in stmts] for window, stmts in script_statements(script).items()}
    problems = []
    for window in WINDOWS:
        if app.get(window, []) != raw.get(window, []):
            diff = difflib.unified_diff(
                raw.get(window, []),
                app.get(window, []),
                f"{SCRIPT.name} ({window})",
                f"the app's statements ({window})",
                lineterm="",
                n=1,
            )
            problems.append("\n".join(diff))
    if problems:
        raise RuntimeError(
            "The app's statements for a payment changed: bench/payments.pgbench no longer"
            " sends the same statements, so the raw baseline would not be the app's work."
            " Update the script (see bench/README.md, payments).\n" + "\n".join(problems)
        )


# --- running pgbench ---------------------------------------------------------------------


def pgbench_path() -> str:
    """The server package's pgbench (``PGBENCH`` to choose another)."""
    if os.environ.get("PGBENCH"):
        return os.environ["PGBENCH"]
    with raw_connect(autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    candidates = [f"/usr/lib/postgresql/{row[0]}/bin/pgbench", shutil.which("pgbench") or ""]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("pgbench not found: install the PostgreSQL server package or set PGBENCH")


def _columns(conn: psycopg.Connection, table: str, leave_out: Sequence[str]) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in leave_out]


def _clone(
    conn: psycopg.Connection, table: str, template_id: int, count: int, made: dict[str, str]
) -> tuple[int, int]:
    """``count`` copies of one row of ``table``; ``made`` gives the SQL of the columns that
    differ (over ``n``, 1..count). Returns the copies' first and last id (consecutive)."""
    copied = _columns(conn, table, ["id", *made])
    names = sql.SQL(", ").join(map(sql.Identifier, [*made, *copied]))
    values = sql.SQL(", ").join(
        [*(sql.SQL(v) for v in made.values()), *(sql.Identifier("t", c) for c in copied)]
    )
    row = conn.execute(
        sql.SQL(
            "WITH made AS (INSERT INTO {table} ({names}) SELECT {values} FROM {table} t,"
            " generate_series(1, %s) AS n WHERE t.id = %s ORDER BY n RETURNING id)"
            " SELECT min(id), max(id), count(*) FROM made"
        ).format(table=sql.Identifier(table), names=names, values=values),
        (count, template_id),
    ).fetchone()
    assert row is not None
    assert row[2] == count, row
    assert row[1] - row[0] + 1 == count, row
    return int(row[0]), int(row[1])


@dataclass(frozen=True, slots=True)
class RawPool:
    """Invoices for the raw side: copies of one app invoice, each with a patient of its own
    (copied too, with the kiosk's look-up of them), its line, and nothing paid yet; made
    with plain SQL so tens of thousands cost nothing to set up. One payment's reads then
    find about as many rows per invoice and patient as the app's do, and no two payments
    lock the same invoice or patient row."""

    first_id: int
    count: int

    @classmethod
    def create(cls, template_invoice_id: int, count: int) -> RawPool:
        with raw_connect() as conn:
            row = conn.execute(
                "SELECT patient_id FROM billing_invoice WHERE id = %s", (template_invoice_id,)
            ).fetchone()
            assert row is not None
            patient = int(row[0])
            first_patient, _ = _clone(
                conn,
                "billing_patient",
                patient,
                count,
                {"code": "'RAW' || txid_current() || '-' || n", "citizen_id_hash": "NULL"},
            )
            first, last = _clone(
                conn,
                "billing_invoice",
                template_invoice_id,
                count,
                {
                    "public_id": "'inv_tmp' || n",
                    "number": "(SELECT max(number) FROM billing_invoice) + n",
                    "patient_id": f"{first_patient} - 1 + n",
                },
            )
            conn.execute(
                "UPDATE billing_invoice SET public_id = 'inv_raw' || id WHERE id BETWEEN %s AND %s",
                (first, last),
            )
            for table, parent in (("billing_invoiceline", "invoice_id"),):
                copied = _columns(conn, table, ["id", parent])
                names = sql.SQL(", ").join(map(sql.Identifier, copied))
                values = sql.SQL(", ").join(sql.Identifier("l", c) for c in copied)
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {table} ({parent}, {names}) SELECT i.id, {values}"
                        " FROM {table} l, billing_invoice i WHERE l.{parent} = %s"
                        " AND i.id BETWEEN %s AND %s"
                    ).format(
                        table=sql.Identifier(table),
                        parent=sql.Identifier(parent),
                        names=names,
                        values=values,
                    ),
                    (template_invoice_id, first, last),
                )
            conn.execute(
                "INSERT INTO billing_lookupaudit (identifier_kind, found, at, device_id,"
                " patient_id) SELECT a.identifier_kind, a.found, a.at, a.device_id,"
                " %s - 1 + n FROM billing_lookupaudit a, generate_series(1, %s) AS n"
                " WHERE a.id = (SELECT max(id) FROM billing_lookupaudit WHERE patient_id = %s)",
                (first_patient, count, patient),
            )
            conn.commit()
            for table in ("billing_patient", "billing_invoice", "billing_invoiceline"):
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            conn.execute("ANALYZE billing_lookupaudit")
            conn.commit()
        return cls(first_id=first, count=count)


@dataclass(frozen=True, slots=True)
class PgbenchRun:
    mode: str
    transactions: int
    seconds: float
    tps: float
    latencies_ms: list[float]
    failed: int

    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def pgbench(
    *,
    pool: RawPool,
    clients: int,
    seconds: float,
    mode: str,
    constants: dict[str, str],
    rate: float | None = None,
) -> PgbenchRun:
    """One pgbench run of the script (``-M mode``); per-transaction latencies from its log
    (``-l``: with ``--rate`` each counts from its scheduled start)."""
    with tempfile.TemporaryDirectory(prefix="vienphi-pgbench-") as workdir:
        command = [pgbench_path(), "-n", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
        command += ["-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1))]
        command += ["-T", str(max(1, round(seconds))), "-M", mode, "-l", "-f", str(SCRIPT)]
        if rate is not None:
            command += ["--rate", f"{rate:.3f}"]
        per_client = pool.count // clients
        defines = {"pool_first": str(pool.first_id), "per_client": str(per_client)}
        defines["clients"] = str(clients)
        for name, value in constants.items():
            # pgbench puts a variable into the SQL text as is with -M simple, as a parameter
            # with -M prepared: a string constant is quoted for the first only.
            defines[name] = f"'{value}'" if mode == "simple" else value
        for name, value in defines.items():
            command += ["-D", f"{name}={value}"]
        command.append(BENCH_DB)
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - fixed argv
            command, cwd=workdir, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"pgbench failed ({result.returncode}):\n{result.stderr[-3000:]}")
        latencies = []
        for log in Path(workdir).glob("pgbench_log.*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 6 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
    out = result.stdout
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not (done and tps):
        raise RuntimeError(f"unexpected pgbench output:\n{out[-2000:]}")
    return PgbenchRun(
        mode=mode,
        transactions=int(done[1]),
        seconds=elapsed,
        tps=float(tps[1]),
        latencies_ms=latencies,
        failed=int(failed[1]) if failed else 0,
    )


def shapes_table(captured: Capture) -> Sequence[str]:
    """The captured shapes, one per line (for bench/README.md and for updating the script)."""
    return [f"{window}: {s}" for window, shapes in captured.shapes().items() for s in shapes]
