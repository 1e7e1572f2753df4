"""Limit/offset pagination as the contract says: ?limit= (default 20, max 100) and ?offset=.

Works on querysets and on `Page`-able MongoDB results alike.
"""

from collections.abc import Callable, Sequence

from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class MongoSlice:
    """A lazily counted, lazily sliced result, so DRF pagination can drive a repository.

    `fetch(skip, limit)` returns one page; `count()` the total. Each is one round trip.
    """

    def __init__(self, *, count: Callable[[], int], fetch: Callable[[int, int], Sequence]):
        self._count = count
        self._fetch = fetch

    def count(self) -> int:
        return self._count()

    def __getitem__(self, window: slice) -> Sequence:
        start = window.start or 0
        return self._fetch(start, window.stop - start)


def _non_negative_int(request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["Must be an integer."]}) from None
    if value < minimum:
        raise ValidationError({name: [f"Must be at least {minimum}."]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 20
    max_limit = 100

    def get_limit(self, request):
        return min(_non_negative_int(request, self.limit_query_param, self.default_limit, 1), self.max_limit)

    def get_offset(self, request):
        return _non_negative_int(request, self.offset_query_param, 0, 0)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        self.count = self.get_count(queryset)
        if self.count == 0 or self.offset > self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])
