from django.core.management.base import BaseCommand

from ecommerce.stores import mongo


class Command(BaseCommand):
    help = "Create the MongoDB indexes of every app (idempotent)."

    def handle(self, *args, **options):
        mongo.ensure_indexes()
        self.stdout.write(self.style.SUCCESS(f"MongoDB indexes ensured on {mongo.get_db().name}."))
