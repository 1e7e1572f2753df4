from rest_framework.routers import SimpleRouter

from reviews.views import ReviewViewSet, WishlistViewSet

router = SimpleRouter(trailing_slash=False)
router.register("reviews", ReviewViewSet, basename="review")
router.register("wishlist", WishlistViewSet, basename="wishlist")

urlpatterns = router.urls
