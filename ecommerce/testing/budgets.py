"""Query budgets: count what one request costs on every store, and say exactly what when it changes.

`capture()` records, while it is open, the SQL sent on each Django alias (PostgreSQL `default`,
MariaDB `mysql`) and the MongoDB commands (one per round trip) the process sends. `check_budget`
compares what two requests over small and large data cost with a pinned `Budget`, and on any
mismatch fails with both lists of statements, so a new query (or an N+1) names itself.
"""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.db import connections
from django.test.utils import CaptureQueriesContext
from pymongo import monitoring

from ecommerce.stores import mongo

ALIASES = ("default", "mysql")

# Driver chatter, not queries of ours: handshakes, heartbeats, authentication, session cleanup.
_NOT_QUERIES = frozenset(
    {"endSessions", "hello", "isMaster", "ismaster", "ping", "saslStart", "saslContinue", "buildInfo", "buildinfo"}
)


_COLUMNS = re.compile(r"^(SELECT (?:DISTINCT )?)(.*?) FROM ", re.DOTALL)


@dataclass(frozen=True)
class Budget:
    """Statements per request: SQL on `default` (PostgreSQL), SQL on `mysql` (MariaDB), MongoDB round trips."""

    default: int
    mysql: int
    mongo: int

    def __str__(self) -> str:
        return f"SQL default={self.default}, SQL mysql={self.mysql}, Mongo={self.mongo}"


@dataclass
class Captured:
    """What one block of code sent to the stores."""

    sql: dict[str, list[str]] = field(default_factory=dict)
    mongo: list[str] = field(default_factory=list)

    @property
    def budget(self) -> Budget:
        return Budget(
            default=len(self.sql.get("default", [])), mysql=len(self.sql.get("mysql", [])), mongo=len(self.mongo)
        )

    def describe(self) -> str:
        lines = []
        for alias in ALIASES:
            statements = self.sql.get(alias, [])
            lines.append(f"  SQL {alias} ({len(statements)}):")
            lines.extend(f"    {i}. {statement}" for i, statement in enumerate(statements, 1))
        lines.append(f"  MongoDB ({len(self.mongo)}):")
        lines.extend(f"    {i}. {command}" for i, command in enumerate(self.mongo, 1))
        return "\n".join(lines)


def _shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sql(statement: str) -> str:
    """A statement as a reader wants it in a failure: a long column list cut short, so the
    table and the conditions stay in view."""
    match = _COLUMNS.match(statement)
    if match and len(match.group(2)) > 80:
        statement = f"{match.group(1)}{match.group(2)[:60]}... FROM {statement[match.end() :]}"
    return _shorten(statement)


class MongoRecorder(monitoring.CommandListener):
    """Records each database command MongoDB receives while armed (one per round trip).

    Registered globally once per process (pymongo gives global listeners to clients created
    afterwards), then the lazy client is rebuilt so it carries the listener. Unarmed, a no-op.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._armed: list[str] | None = None

    def started(self, event):
        if self._armed is None or event.command_name in _NOT_QUERIES:
            return
        command = event.command
        name = event.command_name
        target = command.get(name)
        detail = {
            key: command[key]
            for key in ("filter", "query", "pipeline", "sort", "skip", "limit", "updates", "deletes", "documents")
            if key in command
        }
        text = f"{name} {target if isinstance(target, str) else ''} {json.dumps(detail, default=str)}"
        with self._lock:
            if self._armed is not None:
                self._armed.append(_shorten(text))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        commands: list[str] = []
        with self._lock:
            self._armed = commands
        try:
            yield commands
        finally:
            with self._lock:
                self._armed = None


_recorder: MongoRecorder | None = None
_recorder_lock = threading.Lock()


def mongo_recorder() -> MongoRecorder:
    """The process's recorder, registered on first use (the MongoDB client is rebuilt to carry it)."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = MongoRecorder()
            monitoring.register(_recorder)
            mongo.reset_client()
    return _recorder


@contextmanager
def capture() -> Iterator[Captured]:
    """Record the SQL on both aliases and the MongoDB commands sent inside the block."""
    recorder = mongo_recorder()
    captured = Captured()
    with ExitStack() as stack:
        contexts = {alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in ALIASES}
        commands = stack.enter_context(recorder.recording())
        yield captured
    captured.sql = {
        alias: [_sql(query["sql"]) for query in context.captured_queries] for alias, context in contexts.items()
    }
    captured.mongo = list(commands)


def check_budget(endpoint: str, pinned: Budget, small: Captured, large: Captured, sizes: str) -> None:
    """Fail unless the request cost exactly `pinned` over both the small and the large data."""
    if small.budget == pinned and large.budget == pinned:
        return
    verdict = (
        "grows with the data (an N+1?)"
        if small.budget != large.budget
        else "is flat but differs from the pinned budget"
    )
    raise AssertionError(
        f"{endpoint}: query budget {verdict}.\n"
        f"pinned:       {pinned}\n"
        f"small data:   {small.budget}\n"
        f"large data:   {large.budget}\n"
        f"(sizes: {sizes})\n"
        f"--- small data sent:\n{small.describe()}\n"
        f"--- large data sent:\n{large.describe()}"
    )
