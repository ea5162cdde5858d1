"""Insert the rows of one change together: on PostgreSQL in one statement, so in one round trip.

A withdrawal request's registration writes its timeline entries, its audit events and its emails in the same
transaction. Each `bulk_create` or `save()` is a round trip to the database and a pass through the ORM's
insert compiler; `rows_insert` builds one `WITH ... INSERT ... RETURNING` statement for all of them instead
(each group a data-modifying CTE), and on other databases runs one INSERT per group.

Rows are prepared as `save()` prepares them (`pre_save`, so `auto_now_add` is set, then `get_db_prep_save`),
and every database constraint and trigger applies as usual. `save()` itself is not called: use this only
for models whose `save()` adds nothing.
"""

from dataclasses import dataclass

from django.db import connection, models


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
    parts = [_insert_sql(group) for group in groups]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ctes = ", ".join(f"g{index} AS ({sql})" for index, (sql, _params) in enumerate(parts))
            union = " UNION ALL ".join(
                f"SELECT {index}, id, key FROM g{index}"  # noqa: S608 - names and numbers of ours
                for index in range(len(parts))
            )
            cursor.execute(f"WITH {ctes} {union}", [value for _sql, params in parts for value in params])
            returned = cursor.fetchall()
        else:
            returned = []
            for index, (sql, params) in enumerate(parts):
                cursor.execute(sql, params)
                returned += [(index, pk, key) for pk, key in cursor.fetchall()]
    for index, group in enumerate(groups):
        _assign(group, [(pk, key) for number, pk, key in returned if number == index])


def _insert_sql(group: Rows) -> tuple[str, list]:
    model = type(group.objs[0])
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    params = [
        field.get_db_prep_save(field.pre_save(obj, add=True), connection)
        for obj in group.objs
        for field in fields
    ]
    row = f"({', '.join(['%s'] * len(fields))})"
    pk = qn(meta.pk.column)
    if group.skip_duplicate:
        column = qn(meta.get_field(group.skip_duplicate).column)
        tail = f"ON CONFLICT ({column}) DO NOTHING RETURNING {pk} AS id, CAST({column} AS text) AS key"
    else:
        tail = f"RETURNING {pk} AS id, CAST(NULL AS text) AS key"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(group.objs))} {tail}"
    )
    return sql, params


def _assign(group: Rows, returned: list[tuple]) -> None:
    if group.skip_duplicate:
        attname = type(group.objs[0])._meta.get_field(group.skip_duplicate).attname
        pks = {key: pk for pk, key in returned}
        pairs = [(obj, pks.pop(str(getattr(obj, attname)), None)) for obj in group.objs]
    else:
        # Rows come back in the order of VALUES, as Django's bulk_create relies on.
        pairs = list(zip(group.objs, [pk for pk, _key in returned], strict=True))
    for obj, pk in pairs:
        if pk is not None:
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
