"""`make run`: prepare the stores and serve the API under gunicorn in the foreground.

Without MONGO_URL it starts the embedded nx-27017 (data in DATA_DIR/mongo) for the
life of the server and stops it on exit; without DATABASE_URL/MYSQL_URL Django uses
SQLite files in DATA_DIR. On the embedded default's first start it seeds a demo shop.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings")
BASE_DIR = Path(__file__).resolve().parents[2]


def main() -> int:
    import django
    from django.conf import settings

    from ecommerce.tooling.embedded import EmbeddedMongo

    embedded_mongo = None
    url_file = Path(os.environ.get("DATA_DIR") or BASE_DIR / "var").resolve() / "mongo.url"
    if not os.environ.get("MONGO_URL"):
        data_dir = url_file.parent
        embedded_mongo = EmbeddedMongo(run_dir=data_dir / "run", data_dir=data_dir / "mongo").start()
        # The server's workers and any manage.py command find it through this file
        # (ecommerce.stores.mongo.mongo_url); MONGO_URL stays unset, so settings know it is embedded.
        url_file.write_text(embedded_mongo.url)
        print(f"Embedded MongoDB (nx-27017) at {embedded_mongo.url}", flush=True)
    try:
        django.setup()
        _prepare(settings, first_embedded_start=embedded_mongo is not None)
        return _gunicorn()
    finally:
        # Whatever failed (settings included), the embedded server goes with us.
        if embedded_mongo:
            embedded_mongo.stop()
            url_file.unlink(missing_ok=True)


def _prepare(settings, *, first_embedded_start: bool) -> None:
    from django.core.management import call_command
    from django.db import connections

    call_command("setup_stores")
    seeded_marker = settings.DATA_DIR / "seeded"
    if settings.EMBEDDED and first_embedded_start and not seeded_marker.exists():
        call_command("seed", "--demo")
        seeded_marker.write_text("demo\n")
    call_command("collectstatic", interactive=False, verbosity=0)
    # gunicorn's workers open their own connections.
    connections.close_all()


def _gunicorn() -> int:
    command = [sys.executable, "-m", "gunicorn", "-c", str(BASE_DIR / "gunicorn.conf.py"), "ecommerce.wsgi"]
    server = subprocess.Popen(command, cwd=BASE_DIR)

    def forward(signum, _frame):
        server.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
