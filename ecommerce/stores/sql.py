"""Hand-written SQL for the few hot statements whose ORM form costs more to build than to
send (the order's reservation and figures, the order itself, the user every authenticated
request loads): values are converted by the model's own fields both ways, so what is written
and read is what the ORM would write and read on every backend."""

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


def _find_statement(model, connection) -> tuple[str, list[str], list[tuple]]:
    """The SELECT of one `model` row by primary key on `connection`, the attribute names of
    its columns and, per column, the converters the ORM would apply to what the driver
    answers (SQLite's datetimes, MySQL's UUIDs and aware datetimes, the fields' own
    from_db_value): made once per model and kept on the connection itself (Django's are per
    thread, and the backend's converters are bound to one), living and going with it."""
    statements = connection.__dict__.setdefault("_sql_find_statements", {})
    if model not in statements:
        quote = connection.ops.quote_name
        table = model._meta.db_table
        fields = model._meta.concrete_fields
        columns = [field.get_col(table) for field in fields]
        statement = (
            f"SELECT {', '.join(f'{quote(table)}.{quote(field.column)}' for field in fields)} "  # noqa: S608 - names from the model, the key as a parameter
            f"FROM {quote(table)} WHERE {quote(table)}.{quote(model._meta.pk.column)} = %s"
        )
        converters = [
            tuple(
                (converter, column)
                for converter in [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
            )
            for column in columns
        ]
        statements[model] = statement, [field.attname for field in fields], converters
    return statements[model]


def find(model, pk, *, using: str):
    """The `model` instance with primary key `pk` on `using` (None when there is none), as
    `model.objects.using(using).filter(pk=pk).first()` loads it, without building the query
    on each call."""
    connection = connections[using]
    statement, names, converters = _find_statement(model, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, column_converters in enumerate(converters):
        for converter, column in column_converters:
            values[index] = converter(values[index], column, connection)
    return model.from_db(using, names, values)
