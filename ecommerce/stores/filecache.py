"""A cache in files, shared by the processes of one machine: the embedded default's catalog
cache (`make run` serves one DATA_DIR with one server, whose gunicorn workers all read and
write the same directory).

Django's FileBasedCache with two changes that sharing needs. `add` is atomic across
processes (the entry is linked into place, which fails if the name exists), so it can be
the lock that lets one worker compute an entry while the others wait for it; Django's
checks, then writes. And a disk that fails (full, read-only, the directory removed under
a running server) is a miss, never an error: the same promise as a Redis that is down.
"""

import logging
import os
import tempfile
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache

logger = logging.getLogger(__name__)

# A failing disk fails every call: say so once in a while, not once a request.
_WARN_EVERY_SECONDS = 60.0
_last_warning = 0.0


def _disk_failed(error: OSError) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("File cache unusable, reads go to the store: %s", error)


# Django looks at every file of the directory before each write, to cull when there are too
# many: 24 ms a write at 5,000 entries here. Once every this many writes of a process is
# enough for a bound (overshot by at most this many writes a worker).
_CULL_EVERY = 100


class SharedFileCache(FileBasedCache):
    """FileBasedCache with an atomic `add`, a cheaper cull, and disk errors read as misses."""

    _writes_since_cull = 0

    def _cull(self):
        self._writes_since_cull += 1
        if self._writes_since_cull >= _CULL_EVERY:
            self._writes_since_cull = 0
            super()._cull()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        fname = self._key_to_file(key, version)
        try:
            self._createdir()
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            try:
                with open(fd, "wb") as f:
                    self._write_content(f, timeout, value)
                # Two tries: the name may hold an expired entry, removed by the check below.
                for _ in range(2):
                    try:
                        os.link(tmp_path, fname)
                        return True
                    except FileExistsError:
                        if self.has_key(key, version):  # removes the file when it has expired
                            return False
                return False
            finally:
                os.remove(tmp_path)
        except OSError as error:
            _disk_failed(error)
            return None

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except OSError as error:
            _disk_failed(error)
            return default

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except OSError as error:
            _disk_failed(error)

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except OSError as error:
            _disk_failed(error)
            return False

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except OSError as error:
            _disk_failed(error)
            return False

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except OSError as error:
            _disk_failed(error)
            return False

    def _createdir(self):
        # Called by __init__ too: an unwritable DATA_DIR must not make the cache unbuildable.
        try:
            super()._createdir()
        except OSError as error:
            _disk_failed(error)
