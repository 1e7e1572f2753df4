"""Routes of the reviews app (filled in with its endpoints)."""

urlpatterns: list = []
