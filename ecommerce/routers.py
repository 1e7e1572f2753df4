"""One router, driven by a table of app label -> database alias."""

MYSQL = "mysql"

APP_DATABASES = {
    "inventory": MYSQL,
    "analytics": MYSQL,
}


def database_for(app_label: str) -> str:
    return APP_DATABASES.get(app_label, "default")


class DatabaseRouter:
    """Sends inventory and analytics to MySQL and everything else to `default`."""

    def db_for_read(self, model, **hints):
        return database_for(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return database_for(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        # No foreign keys across databases: relations only within one alias.
        return database_for(obj1._meta.app_label) == database_for(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return database_for(app_label) == db
