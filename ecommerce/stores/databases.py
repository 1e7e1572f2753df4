"""Creating the SQL databases named by DATABASE_URL and MYSQL_URL when the server allows it."""

from django.db import connections


def _create_postgresql(settings_dict: dict) -> str:
    import psycopg
    from psycopg import sql

    name = settings_dict["NAME"]
    params = {
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return f"PostgreSQL database {name} exists."
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"Created PostgreSQL database {name}."


def _create_mysql(settings_dict: dict) -> str:
    import MySQLdb

    name = settings_dict["NAME"]
    params = {
        "host": settings_dict["HOST"] or "localhost",
        "user": settings_dict["USER"] or "root",
        "password": settings_dict["PASSWORD"] or "",
        "connect_timeout": 5,
    }
    if settings_dict["PORT"]:
        params["port"] = int(settings_dict["PORT"])
    conn = MySQLdb.connect(**params)
    try:
        cursor = conn.cursor()
        existed = cursor.execute("SHOW DATABASES LIKE %s", [name])
        escaped = name.replace("`", "``")
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{escaped}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return f"MySQL database {name} exists." if existed else f"Created MySQL database {name}."
    finally:
        conn.close()


def create_missing_databases() -> list[str]:
    """Try CREATE DATABASE for each SQL alias on a server; report, never fail (the user may lack the right)."""
    creators = {"postgresql": _create_postgresql, "mysql": _create_mysql}
    report = []
    for connection in connections.all():
        create = creators.get(connection.vendor)
        if create is None:
            continue
        try:
            report.append(create(connection.settings_dict))
        except Exception as exc:  # noqa: BLE001 - report and let migrate say what is wrong
            report.append(f"Could not create database for {connection.alias}: {exc}")
    return report
