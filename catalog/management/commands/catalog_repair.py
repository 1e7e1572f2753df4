from datetime import timedelta

from django.core.management.base import BaseCommand

from catalog import services


class Command(BaseCommand):
    help = (
        "Bring products (MongoDB) and inventory rows (MySQL) back in line after a failure half-way: "
        "give products without a row an empty one, and finish deletions that left a row behind "
        "(run the product-deleted hooks, then remove the row). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=60,
            help="Leave products younger than this alone: their create may still be writing the row (default 60).",
        )

    def handle(self, *args, dry_run: bool, grace_seconds: int, **options):
        report = services.catalog_repair(dry_run=dry_run, grace=timedelta(seconds=max(grace_seconds, 0)))
        verb = "Would" if dry_run else "Did"
        for product_id in report.inventory_created:
            self.stdout.write(f"{verb} create an empty inventory row for product {product_id}")
        for product_id in report.deletions_finished:
            self.stdout.write(
                f"{verb} finish deleting product {product_id}: run its deleted hooks and remove its inventory row"
            )
        created, finished = len(report.inventory_created), len(report.deletions_finished)
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing changed: {created} row(s) to create, {finished} deletion(s) to finish."
            )
        elif created or finished:
            self.stdout.write(
                self.style.SUCCESS(f"Repaired: {created} row(s) created, {finished} deletion(s) finished.")
            )
        else:
            self.stdout.write(self.style.SUCCESS("Nothing to repair: products and inventory rows match."))
