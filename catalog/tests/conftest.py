"""Catalog fixtures: a counter of the MongoDB commands (round trips) a request makes."""

import threading
from contextlib import contextmanager

import pytest
from pymongo import monitoring

from ecommerce.stores import mongo

# Driver chatter that is not a query of ours.
_NOT_QUERIES = {"endSessions", "hello", "isMaster", "ismaster", "ping", "saslStart", "saslContinue"}


class CommandRecorder(monitoring.CommandListener):
    """Records the database commands MongoDB receives while armed (one per round trip).

    Registered globally once per process (pymongo passes global listeners to clients created
    afterwards), then the lazy client is rebuilt so it carries the listener. Unarmed, it is a no-op.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._armed = False
        self.commands: list[tuple[str, str]] = []

    def started(self, event):
        if not self._armed or event.command_name in _NOT_QUERIES:
            return
        collection = event.command.get(event.command_name)
        with self._lock:
            self.commands.append((event.command_name, collection if isinstance(collection, str) else ""))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    @contextmanager
    def recording(self):
        with self._lock:
            self.commands = []
            self._armed = True
        try:
            yield self.commands
        finally:
            self._armed = False


_recorder: CommandRecorder | None = None


@pytest.fixture
def mongo_commands() -> CommandRecorder:
    global _recorder
    if _recorder is None:
        _recorder = CommandRecorder()
        monitoring.register(_recorder)
        mongo.reset_client()
    return _recorder
