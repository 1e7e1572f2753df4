"""Routes of the catalog app. `products/search` and `products/category/{category}` are
list-level actions, so the router puts them before `products/{id}` (which only takes ids)."""

from rest_framework.routers import SimpleRouter

from catalog.views import CategoryViewSet, ProductViewSet

router = SimpleRouter(trailing_slash=False)
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
