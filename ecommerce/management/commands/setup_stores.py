from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from ecommerce.stores.databases import create_missing_databases


class Command(BaseCommand):
    help = (
        "Prepare all three stores: create the SQL databases where the server allows it, "
        "migrate both SQL aliases and create the MongoDB indexes. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--skip-create", action="store_true", help="Do not try CREATE DATABASE.")

    def handle(self, *args, **options):
        if not options["skip_create"]:
            for line in create_missing_databases():
                self.stdout.write(line)
        for alias in connections:
            call_command("migrate", database=alias, interactive=False, verbosity=0)
            self.stdout.write(f"Migrated {alias}.")
        call_command("ensure_indexes", stdout=self.stdout)
