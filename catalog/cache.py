"""The catalog read cache: public product and category reads, answered from a shared cache.

Only with a cache every replica shares (REDIS_URL): without one, the `catalog` cache is
Django's DummyCache and every read goes to MongoDB. Keys carry a generation number that
every catalog write bumps, so a write is visible to the next read on every replica; there
is no per-key invalidation to get wrong. Prices for carts and orders never come from here:
cart and orders read MongoDB through the selectors.
"""

import functools
import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse

from ecommerce.api.permissions import is_staff
from ecommerce.api.renderers import OrjsonRenderer

GENERATION_KEY = "catalog:generation"
_RENDERER = OrjsonRenderer()
logger = logging.getLogger(__name__)


def _cache():
    return caches["catalog"]


def _fresh_generation() -> int:
    # Never a number used before: a lost (evicted, flushed) generation must not bring
    # back the keys of an old one.
    return time.time_ns()


def _generation(cache) -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def catalog_changed() -> None:
    """Make every cached catalog read stale (called after each catalog write)."""
    cache = _cache()
    try:
        bumped = cache.incr(GENERATION_KEY)
    except ValueError:  # no generation (never set, or evicted): a fresh one
        cache.set(GENERATION_KEY, _fresh_generation(), timeout=None)
        return
    if bumped is None:
        # The cache was unreachable (its errors are ignored): entries it still holds may
        # lag this write until they expire, CATALOG_CACHE_SECONDS at most.
        logger.warning("Catalog cache generation not bumped: the cache is unreachable.")


def invalidates_catalog(service):
    """For catalog services: bump the generation after the write, even a failed one
    (a half-done write must not be hidden behind a cached read)."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        finally:
            catalog_changed()

    return wrapper


def cached_read(view_method):
    """For read-only catalog view methods: cache the 200 answer per path, query and role
    (staff see inactive products), stamped with the generation it was made in.

    A hit is one cache round trip (the generation and the entry in one MGET) and no
    serializing at all: what is kept is the rendered JSON. An entry stamped with an older
    generation is a miss."""

    @functools.wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        seconds = settings.CATALOG_CACHE_SECONDS
        if not seconds:
            return view_method(view, request, *args, **kwargs)
        cache = _cache()
        query = urlencode(sorted(request.query_params.lists()), doseq=True)
        role = "staff" if is_staff(request.user) else "public"
        # Scheme and host too: pagination links in the body are absolute.
        key = f"catalog:read:{role}:{request.scheme}://{request.get_host()}{request.path}?{query}"
        found = cache.get_many([GENERATION_KEY, key])
        generation = found.get(GENERATION_KEY)
        if generation is None:
            generation = _generation(cache)
            if generation is None:  # the cache is down: read through
                return view_method(view, request, *args, **kwargs)
        stamped = found.get(key)
        if stamped is not None and stamped[0] == generation:
            return HttpResponse(stamped[1], content_type="application/json")
        response = view_method(view, request, *args, **kwargs)
        if response.status_code == 200:
            cache.set(key, (generation, _RENDERER.render(response.data)), timeout=seconds)
        return response

    return wrapper


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
