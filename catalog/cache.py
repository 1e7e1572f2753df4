"""The catalog read cache: public product and category reads, answered from a shared cache.

The `catalog` cache is Redis when REDIS_URL is set (every replica shares it), files under
DATA_DIR/cache in the embedded default (one server, whose workers share the directory),
and none otherwise: a cache private to one process would serve other processes' stale
products. Every catalog write stores a new generation number, and an entry is served only
if it was made in the current generation, so a write is visible to the next read on every
worker and replica; there is no per-key invalidation to get wrong. Prices for carts and
orders never come from here: cart and orders read MongoDB through the selectors.

No stampede. An entry is fresh for CATALOG_CACHE_SECONDS (what it shows of other stores,
the stock of a parent's variants, may lag that long) and stays in the cache for
`_HARD_LIFETIMES` times longer. Past its freshness the request that notices is answered the
entry like every other, and hands the refresh to its process's refresh thread, under a
short lock (an atomic `add`) so that one process in the whole deployment reads MongoDB for
it; no request waits for a refresh. A process refreshes one entry at a time: when MongoDB
cannot keep up, entries are refreshed later (stock lags a little longer), requests are
not slowed. When there is no entry of the current generation (a start, a catalog write),
one request reads MongoDB and the others wait for its answer (`_FILL_WAIT_SECONDS` at
most) before reading MongoDB themselves. How each read was answered is counted in
/metrics (`catalog_cache_reads_total`).
"""

import functools
import logging
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpResponse
from prometheus_client import REGISTRY, Counter

from ecommerce.api.permissions import is_staff
from ecommerce.api.renderers import OrjsonRenderer

GENERATION_KEY = "catalog:generation"
# An entry outlives its freshness this many times over: a hot key is refreshed long before
# it could disappear; only keys nobody asks for any more expire.
_HARD_LIFETIMES = 10
# Entries made together (a start, a write) go stale spread over the last fifth of their
# lifetime, not all in the same second.
_FRESHNESS_JITTER = 0.2
# The lock of one entry's computation: longer than a read of MongoDB ever takes, so a
# worker that died holding it only delays a refresh this long.
_LOCK_SECONDS = 10
# How long a request waits for another's computation before reading MongoDB itself: longer
# than a page takes on a loaded machine, or the waiters would pile onto MongoDB too.
_FILL_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.01

_RENDERER = OrjsonRenderer()
logger = logging.getLogger(__name__)

# Outcomes that read MongoDB: refreshed, refresh_failed, fill, fill_after_wait, uncached.
READS = Counter(
    "catalog_cache_reads_total",
    "Catalog reads by how the cache answered: hit, stale (past its freshness: served while it is "
    "refreshed), refreshed and refresh_failed (refreshes done in the background), fill (no entry: "
    "computed), waited (served another request's fill), fill_after_wait (the wait passed: computed), "
    "uncached (the cache is unreachable).",
    ["outcome"],
)
_OUTCOMES = ("hit", "stale", "refreshed", "refresh_failed", "fill", "waited", "fill_after_wait", "uncached")
_counters = {outcome: READS.labels(outcome) for outcome in _OUTCOMES}


def read_counts() -> dict[str, int]:
    """This process's count of catalog reads by outcome, since it started."""
    return {
        outcome: int(REGISTRY.get_sample_value("catalog_cache_reads_total", {"outcome": outcome}) or 0)
        for outcome in _OUTCOMES
    }


def _cache():
    return caches["catalog"]


def _fresh_generation() -> int:
    # Never a number used before: a lost (evicted, flushed) generation must not bring
    # back the keys of an old one. Random, not counted: storing a new value is exact on
    # any backend (the last writer's number is read only after every write before it
    # finished), where an increment is atomic only on Redis.
    return secrets.randbits(62) + 1


def _generation(cache) -> int | None:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def catalog_changed() -> None:
    """Make every cached catalog read stale (called after each catalog write)."""
    cache = _cache()
    generation = _fresh_generation()
    cache.set(GENERATION_KEY, generation, timeout=None)
    if cache.get(GENERATION_KEY) is None:
        # The cache was unreachable (its errors are ignored): entries it still holds may
        # lag this write until they expire.
        logger.warning("Catalog cache generation not stored: the cache is unreachable.")


def invalidates_catalog(service):
    """For catalog services: a new generation after the write, even a failed one (a
    half-done write must not be hidden behind a cached read)."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        finally:
            catalog_changed()

    return wrapper


def _current(stamped, generation: int) -> tuple | None:
    """The entry if it is (generation, fresh_until, body) of this generation."""
    if isinstance(stamped, tuple) and len(stamped) == 3 and stamped[0] == generation:
        return stamped
    return None


def _lookup(cache, key: str) -> tuple[int | None, tuple | None]:
    """The current generation and `key`'s entry made in it, in one round trip (no generation:
    none stored yet, or the cache is down)."""
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    return generation, (_current(found.get(key), generation) if generation is not None else None)


def _fresh(entry: tuple | None) -> bool:
    return entry is not None and entry[1] > time.time()


def _answer(entry: tuple) -> HttpResponse:
    return HttpResponse(entry[2], content_type="application/json")


def _key(request, role: str) -> str:
    """The entry of a read: per path, query and role (staff see inactive products); scheme
    and host too, as pagination links in the body are absolute. `request`: Django's, or DRF's
    (which passes these through)."""
    query = urlencode(sorted(request.GET.lists()), doseq=True)
    return f"catalog:read:{role}:{request.scheme}://{request.get_host()}{request.path}?{query}"


def cached_read(view_method):
    """For read-only catalog view methods: cache the 200 answer per path, query and role,
    stamped with the generation it was made in.

    A hit is one cache round trip (the generation and the entry together) and no
    serializing: what is kept is the rendered JSON. An entry of an older generation is
    never served."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        seconds = settings.CATALOG_CACHE_SECONDS
        if not seconds:
            return view_method(view, request, *args, **kwargs)
        cache = _cache()
        key = _key(request, "staff" if is_staff(request.user) else "public")
        generation, entry = _lookup(cache, key)
        if generation is None:
            generation = _generation(cache)
            if generation is None:  # the cache is down: read through
                _counters["uncached"].inc()
                return view_method(view, request, *args, **kwargs)
        compute = functools.partial(view_method, view, request, *args, **kwargs)
        lock = f"{key}:lock:{generation}"
        if entry is not None:
            if _fresh(entry):
                _counters["hit"].inc()
                return _answer(entry)
            _counters["stale"].inc()
            _refresh_in_background(cache, compute, key, generation, seconds, lock=lock)
            return _answer(entry)
        if cache.add(lock, 1, timeout=_LOCK_SECONDS) is False:
            entry = _wait(cache, key, lock, generation)
            if entry is not None:
                _counters["waited"].inc()
                return _answer(entry)
            _counters["fill_after_wait"].inc()
            return _fill(cache, compute, key, generation, seconds, lock=None)
        # The lock may be free because a fill just finished: its entry, if there is one now.
        entry = _current(cache.get(key), generation)
        if entry is not None:
            cache.delete(lock)
            _counters["waited"].inc()
            return _answer(entry)
        _counters["fill"].inc()
        return _fill(cache, compute, key, generation, seconds, lock=lock)

    wrapper.cached_read = True
    return wrapper


class AnonymousHitsFirst:
    """For catalog viewsets: a fresh cached answer to an anonymous GET, served before DRF's
    request cycle. Without an Authorization header nothing in that cycle can change the
    answer (no credentials to check, public reads allowed to all, JSON the only rendering),
    and on the hottest reads it cost as much as the cache lookup itself. Anything else (a
    caller with credentials, a stale entry, a miss) goes through DRF and cached_read."""

    def dispatch(self, request, *args, **kwargs):
        handler = getattr(self, request.method.lower(), None)
        if (
            getattr(handler, "cached_read", False)
            and settings.CATALOG_CACHE_SECONDS
            and "HTTP_AUTHORIZATION" not in request.META
            and "format" not in request.GET
            and _accepts_json(request.META.get("HTTP_ACCEPT", ""))
        ):
            _, entry = _lookup(_cache(), _key(request, "public"))
            if _fresh(entry):
                _counters["hit"].inc()
                response = _answer(entry)
                response["Allow"] = ", ".join(self.allowed_methods)  # as DRF answers it
                return response
        return super().dispatch(request, *args, **kwargs)


def _accepts_json(accept: str) -> bool:
    """Whether DRF would render JSON for this Accept header (no header: yes)."""
    return not accept or any(kind in accept for kind in ("application/json", "*/*", "application/*"))


def _keep(cache, key: str, generation: int, seconds: int, response) -> bool:
    """Store a 200 answer, fresh for about `seconds`; False for any other answer."""
    if response.status_code != 200:
        return False
    fresh_until = time.time() + seconds * (1 - _FRESHNESS_JITTER * random.random())  # noqa: S311 - a spread, not a secret
    cache.set(key, (generation, fresh_until, _RENDERER.render(response.data)), timeout=seconds * _HARD_LIFETIMES)
    return True


def _fill(cache, compute, key: str, generation: int, seconds: int, *, lock: str | None):
    """Compute the answer and keep it if it is a 200; then release the lock, if held (the
    waiters look for the entry first, then for the lock)."""
    try:
        response = compute()
        _keep(cache, key, generation, seconds, response)
        return response
    finally:
        if lock is not None:
            cache.delete(lock)


# One refresh at a time per process, in a thread of its own: the request that found the
# entry past its freshness has its answer already.
_refresh_slot = threading.Lock()
_refresher: ThreadPoolExecutor | None = None


def _refresh_in_background(cache, compute, key: str, generation: int, seconds: int, *, lock: str) -> None:
    global _refresher
    if not _refresh_slot.acquire(blocking=False):
        return  # this process is refreshing another entry; a later request will ask again
    try:
        if cache.add(lock, 1, timeout=_LOCK_SECONDS) is not True:
            _refresh_slot.release()  # another process refreshes it (or the cache failed)
            return
        if _fresh(_current(cache.get(key), generation)):
            # Refreshed by another request between this one's read and the lock: done.
            cache.delete(lock)
            _refresh_slot.release()
            return
        if _refresher is None:
            _refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-refresh")
        _refresher.submit(_refresh, cache, compute, key, generation, seconds, lock)
    except BaseException:
        _refresh_slot.release()
        raise


def _refresh(cache, compute, key: str, generation: int, seconds: int, lock: str) -> None:
    kept = False
    try:
        kept = _keep(cache, key, generation, seconds, compute())
    except Exception:
        logger.exception("Catalog cache refresh of %s failed.", key)
    finally:
        try:
            if not kept:
                # No longer a 200 (a product removed behind the API's back, MongoDB away):
                # the old answer is not served again.
                cache.delete(key)
            cache.delete(lock)
        finally:
            # This thread's own database connections: none kept between refreshes.
            connections.close_all()
            _counters["refreshed" if kept else "refresh_failed"].inc()
            _refresh_slot.release()


def _wait(cache, key: str, lock: str, generation: int) -> tuple | None:
    """Another request is computing `key`: its entry once stored, or None when it gave up
    (the lock released with no entry: an error, or not a 200) or the wait passed."""
    deadline = time.monotonic() + _FILL_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        found = cache.get_many([key, lock])
        entry = _current(found.get(key), generation)
        if entry is not None:
            return entry
        if lock not in found:
            # Read again: the holder may have stored its entry between the two reads (files
            # are read one by one; Redis reads both at once).
            return _current(cache.get(key), generation)
    return None


def cached_products(product_ids: set[str], load) -> dict:
    """Products by id from the cache, `load(missing_ids)` for the rest (then cached).

    For showing products (carts); orders price from MongoDB itself. Unknown ids are not
    cached: they are asked again each time."""
    seconds = settings.CATALOG_CACHE_SECONDS
    cache = _cache() if seconds else None
    generation = _generation(cache) if cache is not None else None
    if generation is None:
        return load(product_ids)
    keys = {f"catalog:{generation}:product:{product_id}": product_id for product_id in product_ids}
    found = {keys[key]: product for key, product in cache.get_many(list(keys)).items()}
    missing = product_ids - found.keys()
    if missing:
        loaded = load(missing)
        cache.set_many({f"catalog:{generation}:product:{pid}": product for pid, product in loaded.items()}, seconds)
        found |= loaded
    return found
