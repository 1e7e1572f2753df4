from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        from catalog import services as catalog_services
        from reviews import services  # also registers the MongoDB indexes (reviews.repository)

        # Deleting a product deletes its reviews, their helpful votes and its wishlist entries.
        catalog_services.on_product_deleted(services.reviews_delete_for_product)
