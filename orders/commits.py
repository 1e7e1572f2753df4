"""Transactions whose answer can be lost, and how their outcome is settled instead of guessed.

A failure before COMMIT is sent means the write did not land (the server rolls the
transaction back when the connection goes). A failure of the COMMIT itself (the connection
cut after the server received it) leaves the outcome unknown: it may have committed. Such a
write is settled by asking the store again, on a fresh connection:

- PostgreSQL: the transaction's id, read inside it, is looked up with `pg_xact_status` (made
  for this case): committed, aborted, or still in progress (then asked again shortly);
- MySQL: the caller looks its rows up by their reference with a locking read, which waits
  for a transaction still holding them to end, so what it reads is the final outcome.

Only a definite "it did not land" allows compensating; an unknown outcome is left to the
retry that takes the idempotency key over, or to `reconcile_orders`.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction

from ecommerce.api.exceptions import STORE_NAMES, ServiceUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT = "default"
# How long a PostgreSQL transaction still "in progress" after its connection died is waited
# for: the server ends it as soon as it notices the connection is gone.
_IN_PROGRESS_WAIT_SECONDS = 5.0


class CommitLost(Exception):
    """The COMMIT was sent and its answer never came: the write may or may not have landed."""

    def __init__(self, alias: str, transaction_id: str | None):
        self.alias = alias
        self.store = STORE_NAMES.get(alias, alias)
        self.transaction_id = transaction_id
        super().__init__(f"The answer to a {self.store} COMMIT was lost.")


class Outcome:
    COMMITTED = "committed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"


def store_of(alias: str) -> str:
    return STORE_NAMES.get(alias, alias)


@contextmanager
def store(alias: str) -> Iterator[None]:
    """Name the store when `alias` fails (a 503 must not blame another one)."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise ServiceUnavailable(store_of(alias)) from exc


def reconnect(alias: str) -> None:
    """Drop the connection of `alias` so the next query opens a fresh one (after a failure
    the old one is broken, and a persistent connection would answer with its error)."""
    connection = connections[alias]
    if connection.in_atomic_block:
        return  # inside a test's transaction: nothing failed at the network level
    try:
        connection.close()
    except DatabaseError:
        logger.debug("closing a broken %s connection failed", alias, exc_info=True)


def _transaction_id(alias: str) -> str | None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text")
        return cursor.fetchone()[0]


def commit(alias: str, body: Callable[[], T], *, settle: bool = False) -> T:
    """Run `body` in one transaction on `alias` and answer its result.

    A store failure before the COMMIT raises ServiceUnavailable naming the store: nothing
    landed. A lost COMMIT answer raises CommitLost; with `settle` (PostgreSQL), the
    transaction's id is read first so that `outcome()` can tell what happened."""
    sent = False
    transaction_id = None
    try:
        with transaction.atomic(using=alias):
            if settle:
                transaction_id = _transaction_id(alias)
            result = body()
            sent = True
    except (OperationalError, InterfaceError) as exc:
        if sent and not connections[alias].in_atomic_block:
            logger.warning("%s COMMIT answer lost: %s", store_of(alias), exc)
            raise CommitLost(alias, transaction_id) from exc
        raise ServiceUnavailable(store_of(alias)) from exc
    return result


def outcome(lost: CommitLost) -> str:
    """Whether a PostgreSQL transaction whose COMMIT answer was lost committed, asked on a
    fresh connection: Outcome.COMMITTED, ABORTED, or UNKNOWN (the store cannot be asked)."""
    if lost.transaction_id is None:
        return Outcome.UNKNOWN
    reconnect(lost.alias)
    deadline = time.monotonic() + _IN_PROGRESS_WAIT_SECONDS
    try:
        while True:
            with connections[lost.alias].cursor() as cursor:
                cursor.execute("SELECT pg_xact_status(%s::xid8)", [lost.transaction_id])
                status = cursor.fetchone()[0]
            if status in (Outcome.COMMITTED, Outcome.ABORTED):
                return status
            if time.monotonic() > deadline:
                return Outcome.UNKNOWN
            time.sleep(0.05)
    except DatabaseError:
        logger.warning("Could not settle %s transaction %s", lost.store, lost.transaction_id, exc_info=True)
        return Outcome.UNKNOWN
