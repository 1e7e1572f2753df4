"""Hand-written SQL for the few hot writes whose ORM statements cost more to build than to
send (the order's reservation and figures, the order itself): values are converted by the
model's own fields, so what is written is what the ORM would write on every backend."""

from django.db import connections


def db_value(model, column: str, value, *, using: str):
    """`value` as the ORM sends it for `model.column` on `using` (UUIDs, JSON, dates, money)."""
    return model._meta.get_field(column).get_db_prep_save(value, connections[using])


def insert(cursor, model, rows: list[dict], *, using: str, returning: str = "") -> list[tuple]:
    """One INSERT of `rows` (column: value, the same columns in each) into `model`'s table on
    `using`, names quoted as the ORM quotes them; with `returning` (a column, where the backend
    can return rows from an INSERT), the rows it answers."""
    quote = connections[using].ops.quote_name
    columns = list(rows[0])
    values = "(" + ", ".join("%s" for _ in columns) + ")"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column) for column in columns)}) "  # noqa: S608 - names from the model, values as parameters
        f"VALUES {', '.join(values for _ in rows)}"
    )
    if returning:
        sql += f" RETURNING {quote(returning)}"
    cursor.execute(sql, [db_value(model, column, row[column], using=using) for row in rows for column in columns])
    return cursor.fetchall() if returning else []


def insert_objects(objects: list, *, using: str) -> None:
    """INSERT `objects` (unsaved instances of one model, auto_now fields set by the caller) in
    one statement on `using`, their primary keys set from it: bulk_create's write without
    its machinery. Where the database cannot return rows from an INSERT, one save() each."""
    model = type(objects[0])
    if not connections[using].features.can_return_rows_from_bulk_insert:  # MySQL, SQLite < 3.35
        for obj in objects:
            obj.save(force_insert=True, using=using)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    rows = [{field.column: getattr(obj, field.attname) for field in fields} for obj in objects]
    with connections[using].cursor() as cursor:
        keys = insert(cursor, model, rows, using=using, returning=model._meta.pk.column)
    for obj, (key,) in zip(objects, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using
