from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        from catalog import services as catalog_services
        from reviews import services  # also registers the MongoDB indexes (reviews.repository)
        from users import services as user_services

        # Deleting a product deletes its reviews, their helpful votes and its wishlist entries.
        catalog_services.on_product_deleted(services.reviews_delete_for_product)
        # Deleting a user deletes their wishlist (their reviews stay, under the plain user_id).
        user_services.on_user_deleted(services.wishlist_delete_for_user)
