"""Querysets compiled to SQL once per database connection, run again with new values.

Django builds and compiles a queryset's SQL each time it is evaluated: for a read with a
few joins that is about a millisecond of CPU, several times what PostgreSQL takes to answer
it. A worker's hot path (a receipt's task) runs the same few reads hundreds of times a
second with only an id changing. A ``CompiledQuery`` builds its queryset once per
connection (so once per worker process; a thread has its own connection), keeps the SQL,
where the caller's values go in its parameters and the compiler's row layout, and then
runs that SQL with the caller's values and makes the model instances as Django's own
``ModelIterable`` does: the same ``from_db``, the ``select_related`` objects, annotations and
field converters (a JSON field parsed, for one). The statement is the one the queryset
sends, character for character (a test compares them), and, its text being the same each
time, psycopg prepares it on the server from its fifth use (``DB_PREPARE_THRESHOLD``).

Where the values go is found by building the queryset twice, from two sets of sample
values: the parameters that differ are the slots, and each must be one of the values
as given (an ``int`` or ``str`` that Django passes through unchanged); anything else (a
value Django transforms, a time taken while building) is refused when it is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED, Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import (  # type: ignore[attr-defined]  # not in the stubs
    RelatedPopulator,
    get_related_populators,
)
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

# Two samples per type, unlike any value a query of ours is built from.
_SAMPLES: dict[type, tuple[Any, Any]] = {
    int: (-7_300_000_001, -7_300_000_002),
    str: ("\x00compiled-sample-a", "\x00compiled-sample-b"),
}


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position in params, value's name)
    compiler: SQLCompiler
    locks: bool  # SELECT … FOR UPDATE: only inside a transaction
    init_list: list[str]
    model_start: int
    model_end: int
    populators: list[RelatedPopulator]
    converters: dict[int, Any]


class CompiledQuery(Generic[M]):
    """``build(**values)`` compiled once per connection; ``all(**values)`` runs it.

    ``types`` names each value and its type (``int`` or ``str``); ``build`` must make the
    same query for any values, using each only as a lookup's right-hand side."""

    def __init__(
        self, build: Callable[..., QuerySet[M]], *, using: str = DEFAULT_DB_ALIAS, **types: type
    ) -> None:
        for name, kind in types.items():
            if kind not in _SAMPLES:
                raise TypeError(f"CompiledQuery value {name!r}: int or str, not {kind!r}")
        self._build = build
        self._types = types
        self._using = using
        self._compiled: WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = WeakKeyDictionary()

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        first = {name: _SAMPLES[kind][0] for name, kind in self._types.items()}
        second = {name: _SAMPLES[kind][1] for name, kind in self._types.items()}
        queryset = self._build(**first)
        compiler = queryset.query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()  # also fills select, klass_info, annotation_col_map
        other_sql, other_params = (
            self._build(**second).query.get_compiler(using=self._using).as_sql()
        )
        if other_sql != sql or len(other_params) != len(params):
            raise ValueError("CompiledQuery: the query's SQL depends on its values")
        by_sample = {sample: name for name, sample in first.items()}
        slots: list[tuple[int, str]] = []
        for position, (one, other) in enumerate(zip(params, other_params, strict=True)):
            if one == other:
                continue
            name = by_sample.get(one)
            if name is None or type(one) is not self._types[name] or other != second[name]:
                raise ValueError(
                    f"CompiledQuery: parameter {position} is not one of the values as given"
                )
            slots.append((position, name))
        missing = set(self._types) - {name for _, name in slots}
        if missing:
            raise ValueError(f"CompiledQuery: values not in the query: {sorted(missing)}")
        select, klass_info = compiler.select, compiler.klass_info
        select_fields = klass_info["select_fields"]
        fields = [column[0] for column in select[0 : compiler.col_count]]
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            locks=queryset.query.select_for_update and connection.features.has_select_for_update,
            init_list=[
                column[0].target.attname
                for column in select[select_fields[0] : select_fields[-1] + 1]
            ],
            model_start=select_fields[0],
            model_end=select_fields[-1] + 1,
            populators=get_related_populators(klass_info, select, self._using),
            converters=compiler.get_converters(fields),
        )

    def all(self, **values: Any) -> list[M]:
        """The query's rows for ``values``, as model instances."""
        connection = connections[self._using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        if compiled.locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, name in compiled.slots:
            value = values[name]
            if type(value) is not self._types[name]:
                raise TypeError(f"CompiledQuery value {name!r} must be {self._types[name]!r}")
            params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Any = cursor.fetchall()
        compiler = compiled.compiler
        if compiled.converters:
            rows = compiler.apply_converters(rows, compiled.converters)
        model = compiler.klass_info["model"]
        annotations = compiler.annotation_col_map or {}
        objects: list[M] = []
        for row in rows:
            obj = model.from_db(
                self._using, compiled.init_list, row[compiled.model_start : compiled.model_end]
            )
            for populator in compiled.populators:
                populator.populate(row, obj)
            for name, position in annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def first(self, **values: Any) -> M | None:
        """The first row for ``values`` (``build`` orders and slices the query), or None."""
        found = self.all(**values)
        return found[0] if found else None


class CompiledInsert(Generic[M]):
    """Rows of ``model`` written by one ``INSERT … VALUES (…), (…) RETURNING`` its key,
    the statement's text made once per connection and number of rows: what
    ``bulk_create`` sends (each field's ``pre_save`` — ``auto_now`` times — and
    ``get_db_prep_save``, the key set on each object) without compiling it each time. For
    a model whose every field is written by ``%s`` (none with its own placeholder, a
    database default or a generated value) and whose only returned column is an
    auto-increment key; ``bulk_create`` for the rest, and on a database that cannot return
    the keys of a multi-row insert. ``unique_fields`` and ``update_fields``: a row that
    clashes on those unique fields is updated instead (``bulk_create``'s
    ``update_conflicts``: ``ON CONFLICT (…) DO UPDATE SET f = EXCLUDED.f``)."""

    def __init__(
        self,
        model: type[M],
        *,
        using: str = DEFAULT_DB_ALIAS,
        unique_fields: tuple[str, ...] = (),
        update_fields: tuple[str, ...] = (),
    ) -> None:
        meta = model._meta
        self._model = model
        self._using = using
        self._unique = [meta.get_field(name) for name in unique_fields]
        self._update = [meta.get_field(name) for name in update_fields]
        self._fields = [field for field in meta.local_concrete_fields if field is not meta.pk]
        self._plain = getattr(meta.pk, "db_returning", False) and not any(
            hasattr(field, "get_placeholder")
            or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED
            or getattr(field, "generated", False)
            or getattr(field, "db_returning", False)
            for field in self._fields
        )
        self._sql: WeakKeyDictionary[BaseDatabaseWrapper, dict[int, str]] = WeakKeyDictionary()

    def _statement(self, connection: BaseDatabaseWrapper, rows: int) -> str:
        by_rows = self._sql.setdefault(connection, {})
        sql = by_rows.get(rows)
        if sql is None:
            quote = connection.ops.quote_name
            meta = self._model._meta
            row = "(" + ", ".join(["%s"] * len(self._fields)) + ")"
            returning, _ = connection.ops.return_insert_columns([meta.pk])
            conflict = ""
            if self._unique:
                conflict = connection.ops.on_conflict_suffix_sql(
                    self._fields,
                    OnConflict.UPDATE,
                    [field.column for field in self._update],  # type: ignore[union-attr]
                    [field.column for field in self._unique],  # type: ignore[union-attr]
                )
            sql = by_rows[rows] = (
                f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - the model's own names
                f"({', '.join(quote(field.column) for field in self._fields)}) "
                f"VALUES {', '.join([row] * rows)} {conflict} {returning}"
            )
        return sql

    def insert(self, objs: list[M]) -> list[M]:
        """Writes ``objs`` (new, unsaved) in one statement; returns them with their keys."""
        connection = connections[self._using]
        if not objs:
            return objs
        if not (
            self._plain
            and connection.features.can_return_rows_from_bulk_insert
            and all(obj.pk is None for obj in objs)
        ):
            return self._model._default_manager.using(self._using).bulk_create(
                objs,
                update_conflicts=bool(self._unique),
                unique_fields=[field.name for field in self._unique] or None,
                update_fields=[field.name for field in self._update] or None,
            )
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for obj in objs
            for field in self._fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(self._statement(connection, len(objs)), params)
            keys = cursor.fetchall()
        assert len(keys) == len(objs)
        for obj, (key,) in zip(objs, keys, strict=True):
            obj.pk = key
            obj._state.adding = False
            obj._state.db = self._using
        return objs
