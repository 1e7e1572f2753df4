"""Routes of the orders app (filled in with its endpoints)."""

urlpatterns: list = []
