"""`make run`: prepare the stores and serve the API under gunicorn in the foreground.

Without MONGO_URL it starts the embedded nx-27017 (data in DATA_DIR/mongo) for the
life of the server and stops it on exit; without DATABASE_URL/MYSQL_URL Django uses
SQLite files in DATA_DIR. On the embedded default's first start it seeds a demo shop.

One server per DATA_DIR: a second `make run` on the same directory exits with a message
and touches nothing of the first. Everything it starts dies with it, even when it is
SIGKILLed, so the next `make run` finds the port and the files free.
"""

import fcntl
import functools
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce.settings")
BASE_DIR = Path(__file__).resolve().parents[2]

# How long a new server waits for the processes of a killed one to finish dying.
ORPHANS_GRACE_SECONDS = 60


def gunicorn_command() -> list[str]:
    """The one command line that runs the API under gunicorn (make run, the tests' live servers)."""
    return [sys.executable, "-m", "gunicorn", "-c", str(BASE_DIR / "gunicorn.conf.py"), "ecommerce.wsgi"]


class DataDirLock:
    """An exclusive flock on DATA_DIR/serve.lock. The processes the server starts inherit it,
    so it is free only once gunicorn, its workers and nx-27017 are all gone; the file names
    the holder (pid and port) for the message a second server prints."""

    def __init__(self, directory: Path):
        self.path = directory / "serve.lock"
        self.fd: int | None = None

    def acquire(self, *, port: str) -> str | None:
        """Take the lock, or answer why not. Waits only for a dead holder's processes."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + ORPHANS_GRACE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder_pid, holder_port = self._holder(fd)
                if _alive(holder_pid) or time.monotonic() > deadline:
                    os.close(fd)
                    return (
                        f"Another server (pid {holder_pid}, port {holder_port}) is serving {self.path.parent}. "
                        "Stop it first, or give this one its own DATA_DIR."
                    )
                time.sleep(0.2)  # a killed server's processes are still stopping
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {port}\n".encode(), 0)
        os.set_inheritable(fd, True)
        self.fd = fd
        return None

    @staticmethod
    def _holder(fd: int) -> tuple[int | None, str]:
        fields = os.pread(fd, 64, 0).decode(errors="replace").split()
        if len(fields) == 2 and fields[0].isdigit():
            return int(fields[0]), fields[1]
        return None, "?"

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _secret_key(data_dir: Path) -> None:
    """The embedded default's key: made once per DATA_DIR, before Django starts (the settings
    only read it), kept so that tokens survive restarts."""
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)


def main() -> int:
    from ecommerce.env import data_dir, embedded, env_str

    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(directory)
    refused = lock.acquire(port=os.environ.get("PORT", "8080"))
    if refused:
        print(refused, file=sys.stderr, flush=True)
        return 1
    try:
        if embedded() and not env_str("SECRET_KEY"):
            _secret_key(directory)
        return _serve(directory, lock_fd=lock.fd, with_mongo=not env_str("MONGO_URL"))
    finally:
        lock.release()


def _serve(directory: Path, *, lock_fd: int, with_mongo: bool) -> int:
    import django
    from django.conf import settings

    from ecommerce.tooling.embedded import EmbeddedMongo

    embedded_mongo = None
    url_file = directory / "mongo.url"
    if with_mongo:
        embedded_mongo = EmbeddedMongo(run_dir=directory / "run", data_dir=directory / "mongo", pass_fds=(lock_fd,))
        embedded_mongo.start()
        # The server's workers and any manage.py command find it through this file
        # (ecommerce.stores.mongo.mongo_url); MONGO_URL stays unset, so settings know it is embedded.
        url_file.write_text(embedded_mongo.url)
        print(f"Embedded MongoDB (nx-27017) at {embedded_mongo.url}", flush=True)
    try:
        django.setup()
        _prepare(settings, first_embedded_start=embedded_mongo is not None)
        from ecommerce.tooling.processes import die_with_parent
        from events.launcher import relay_beside

        # Like gunicorn, the relay goes when this process is killed without a chance to stop it.
        with relay_beside(BASE_DIR, preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid())):
            return _gunicorn(lock_fd)
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


def _gunicorn(lock_fd: int) -> int:
    from ecommerce.tooling.processes import die_with_parent

    server = subprocess.Popen(
        gunicorn_command(),
        cwd=BASE_DIR,
        pass_fds=(lock_fd,),
        # SIGTERM, gunicorn's graceful stop, if this process is killed without a chance to forward it.
        preexec_fn=functools.partial(die_with_parent, signal.SIGTERM, os.getpid()),
    )

    def forward(signum, _frame):
        server.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
