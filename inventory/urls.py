from rest_framework.routers import SimpleRouter

from inventory.views import InventoryViewSet

router = SimpleRouter(trailing_slash=False)
router.register("inventory", InventoryViewSet, basename="inventory")

urlpatterns = router.urls
