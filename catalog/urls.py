"""Routes of the catalog app (filled in with its endpoints)."""

urlpatterns: list = []
