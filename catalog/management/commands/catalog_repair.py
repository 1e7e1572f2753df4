from datetime import timedelta

from django.core.management.base import BaseCommand

from catalog import services


class Command(BaseCommand):
    help = (
        "Bring products (MongoDB) and inventory rows (MySQL) back in line after a failure half-way: "
        "give standalone products and variants without a row an empty one, finish deletions that left "
        "a row behind (run the product-deleted hooks, then remove the row), remove rows under parents, "
        "delete variants whose parent is gone and rewrite parents whose summary of their variants is stale. "
        "Idempotent."
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
        for product_id in report.parent_rows_removed:
            self.stdout.write(f"{verb} remove the inventory row of parent {product_id} (a parent holds no stock)")
        for product_id in report.orphan_variants_deleted:
            self.stdout.write(f"{verb} delete variant {product_id}: its parent is gone")
        for product_id in report.parents_refreshed:
            self.stdout.write(f"{verb} rewrite parent {product_id}'s summary and price from its variants")
        created, finished = len(report.inventory_created), len(report.deletions_finished)
        variants = (
            len(report.parent_rows_removed),
            len(report.orphan_variants_deleted),
            len(report.parents_refreshed),
        )
        if any(variants):
            self.stdout.write(
                "Variants: {} parent row(s), {} orphan variant(s), {} parent summary(ies)".format(*variants)
            )
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing changed: {created} row(s) to create, {finished} deletion(s) to finish."
            )
        elif created or finished or any(variants):
            self.stdout.write(
                self.style.SUCCESS(f"Repaired: {created} row(s) created, {finished} deletion(s) finished.")
            )
        else:
            self.stdout.write(self.style.SUCCESS("Nothing to repair: products and inventory rows match."))
