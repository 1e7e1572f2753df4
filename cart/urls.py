"""Routes of the cart app (filled in with its endpoints)."""

urlpatterns: list = []
