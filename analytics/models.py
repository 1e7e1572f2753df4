"""Daily sales figures (MySQL), kept current in the same MySQL transaction as the stock
change of each order placed or cancelled, so figures and stock cannot drift apart."""

from django.db import models


class SalesFigures(models.Model):
    """What was placed on a day, and the part of it cancelled since (counted on the day the
    order was placed, not the day it was cancelled)."""

    date = models.DateField()
    # 64-bit: place-and-cancel cycles only ever grow the counters (a cancellation adds to
    # cancelled_*), and a 32-bit one overflowed into a 500 on the next order.
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    # Wide: a day's figures only grow (a cancellation moves revenue to cancelled_revenue).
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    cancelled_orders = models.BigIntegerField(default=0)
    cancelled_units = models.BigIntegerField(default=0)
    cancelled_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ProductSales(SalesFigures):
    """One product's figures on one day; `orders` counts the orders containing it."""

    product_id = models.CharField(max_length=24)
    # The product's name when it last sold, for the popular-products answer.
    name = models.CharField(max_length=200, blank=True)
    # A variant's parent, recorded with the sale ("" for a standalone product): the figures
    # grouped by parent need it, and analytics sits below the catalog.
    parent_id = models.CharField(max_length=24, blank=True, default="")

    class Meta:
        verbose_name_plural = "product sales"
        ordering = ["-date", "product_id"]
        constraints = [models.UniqueConstraint(fields=["date", "product_id"], name="product_sales_date_product_unique")]
        indexes = [
            models.Index(fields=["product_id", "date"], name="product_sales_product_date_idx"),
            models.Index(fields=["date", "parent_id"], name="product_sales_date_parent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.product_id}: {self.units} units"


class DailySales(SalesFigures):
    """The whole shop's figures on one day; `orders` counts distinct orders."""

    class Meta:
        verbose_name_plural = "daily sales"
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["date"], name="daily_sales_date_unique")]

    def __str__(self) -> str:
        return f"{self.date}: {self.orders} orders"
