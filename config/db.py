"""Insert the rows of one change together: on PostgreSQL in one statement, so in one round trip.

A withdrawal request's registration writes its timeline entries, its audit events and its emails in the same
transaction. Each `bulk_create` or `save()` is a round trip to the database and a pass through the ORM's
insert compiler; `rows_insert` builds one `WITH ... INSERT ... RETURNING` statement for all of them instead
(each group a data-modifying CTE, the whole atomic by itself), and on other databases runs one INSERT per
group in a transaction.

Values are taken as `save()` takes them (`pre_save`, then the field's own conversion), except that a timestamp
of `auto_now`/`auto_now_add` set beforehand is kept, so that the rows of one change can share one moment.
When every row of a group has its pk set (taken beforehand from the sequence), the rows are inserted with
it. Every database constraint and trigger applies as usual. `save()` itself is not called: use this only
for models whose `save()` adds nothing.
"""

import datetime
import decimal
import functools
import ipaddress
import json
import uuid
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction


@dataclass
class Rows:
    """Rows of one model to insert. With `skip_duplicate` (a unique field), a row whose value exists already
    is skipped: it keeps `pk=None`."""

    objs: list[models.Model]
    skip_duplicate: str = ""


def rows_insert(*groups: Rows) -> None:
    """Insert every group's rows and set the pk of each row written."""
    groups = tuple(group for group in groups if group.objs)
    if not groups:
        return
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            parts = [_insert_json(db, group) for group in groups]
            ctes = ", ".join(f"g{index} AS ({sql})" for index, (sql, _params) in enumerate(parts))
            union = " UNION ALL ".join(
                f"SELECT {index}, id, key FROM g{index}"  # noqa: S608 - names and numbers of ours
                for index in range(len(parts))
            )
            cursor.execute(f"WITH {ctes} {union}", [value for _sql, params in parts for value in params])
            returned = cursor.fetchall()
        else:
            returned = []
            with transaction.atomic(using=db.alias):
                for index, group in enumerate(groups):
                    cursor.execute(*_insert_values(db, group))
                    returned += [(index, pk, key) for pk, key in cursor.fetchall()]
    for index, group in enumerate(groups):
        _assign(db, group, [(pk, key) for number, pk, key in returned if number == index])


@dataclass(frozen=True)
class _Plan:
    fields: tuple[models.Field, ...]
    stamps: frozenset[str]  # auto_now / auto_now_add fields, kept when set beforehand
    head: str
    tail: str
    json_sql: str  # PostgreSQL: INSERT ... SELECT ... FROM json_populate_recordset(...)


@functools.lru_cache(maxsize=64)
def _plan(alias: str, model: type[models.Model], with_pk: bool, skip_duplicate: str) -> _Plan:
    meta = model._meta
    qn = connections[alias].ops.quote_name
    fields = tuple(field for field in meta.concrete_fields if with_pk or not field.primary_key)
    stamps = frozenset(
        field.attname
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )
    pk = qn(meta.pk.column)
    if skip_duplicate:
        column = qn(meta.get_field(skip_duplicate).column)
        tail = f"ON CONFLICT ({column}) DO NOTHING RETURNING {pk} AS id, CAST({column} AS text) AS key"
    else:
        tail = f"RETURNING {pk} AS id, CAST(NULL AS text) AS key"
    columns = ", ".join(qn(field.column) for field in fields)
    head = f"INSERT INTO {qn(meta.db_table)} ({columns})"
    source = f"json_populate_recordset(NULL::{qn(meta.db_table)}, %s)"
    json_sql = f"{head} SELECT {columns} FROM {source} {tail}"  # noqa: S608 - names of ours
    return _Plan(fields, stamps, head, tail, json_sql)


def _plan_for(db, group: Rows) -> _Plan:
    with_pk = all(obj.pk is not None for obj in group.objs)  # ids taken beforehand from the sequence
    return _plan(db.alias, type(group.objs[0]), with_pk, group.skip_duplicate)


def _value(obj: models.Model, field: models.Field, stamps: frozenset[str]):
    """Return the value save() would write (a timestamp set beforehand is kept)."""
    if field.attname in stamps:
        value = getattr(obj, field.attname)
        if value is not None:
            return value
    return field.pre_save(obj, add=True)


def _insert_json(db, group: Rows) -> tuple[str, list]:
    """PostgreSQL: the rows as one JSON array read by json_populate_recordset, so the statement's text and
    its number of parameters do not depend on the rows (the driver parses it once) and values are
    encoded by the json module, not one by one."""
    plan = _plan_for(db, group)
    rows = [
        {field.column: _json_value(field, _value(obj, field, plan.stamps)) for field in plan.fields}
        for obj in group.objs
    ]
    return plan.json_sql, [json.dumps(rows)]


_AS_TEXT = {
    datetime.datetime: datetime.datetime.isoformat,
    datetime.date: datetime.date.isoformat,
    datetime.time: datetime.time.isoformat,
    uuid.UUID: str,
    decimal.Decimal: str,
    ipaddress.IPv4Address: str,
    ipaddress.IPv6Address: str,
}


def _json_value(field: models.Field, value):
    if isinstance(field, models.JSONField):
        return field.get_prep_value(value)  # a nested document, read into the jsonb column as it is
    value = field.get_prep_value(value)
    convert = _AS_TEXT.get(type(value))
    return value if convert is None else convert(value)


def _insert_values(db, group: Rows) -> tuple[str, list]:
    plan = _plan_for(db, group)
    row = f"({', '.join(['%s'] * len(plan.fields))})"
    values = [
        field.get_db_prep_save(_value(obj, field, plan.stamps), db)
        for obj in group.objs
        for field in plan.fields
    ]
    return f"{plan.head} VALUES {', '.join([row] * len(group.objs))} {plan.tail}", values


def _assign(db, group: Rows, returned: list[tuple]) -> None:
    if group.skip_duplicate:
        attname = group.objs[0]._meta.get_field(group.skip_duplicate).attname
        pks = {key: pk for pk, key in returned}
        pairs = [(obj, pks.pop(str(getattr(obj, attname)), None)) for obj in group.objs]
    else:
        # Rows come back in the order they were given, as Django's bulk_create relies on.
        pairs = list(zip(group.objs, [pk for pk, _key in returned], strict=True))
    for obj, pk in pairs:
        if pk is not None:
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = db.alias
