"""Routes of the inventory app (filled in with its endpoints)."""

urlpatterns: list = []
