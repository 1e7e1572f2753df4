"""Routes of the analytics app (filled in with its endpoints)."""

urlpatterns: list = []
