from rest_framework.routers import SimpleRouter

from cart.views import CartViewSet

router = SimpleRouter(trailing_slash=False)
router.register("cart", CartViewSet, basename="cart")

urlpatterns = router.urls
