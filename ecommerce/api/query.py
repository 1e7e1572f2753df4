"""Query parameters, validated the one way every view reads them."""


def validated_query(serializer_class, request) -> dict:
    """`request`'s query parameters through `serializer_class`; a 400 naming each bad one.

    Read as a plain dict (a repeated parameter's last value): a QueryDict would make DRF read
    an absent boolean as False."""
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data
