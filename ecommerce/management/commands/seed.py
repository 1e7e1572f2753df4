"""`manage.py seed`: a deterministic demo shop at a chosen scale, written in bulk.

Users, a category tree, products with stock (some low), reviews, wishlists, carts and
orders spread over the last 90 days with their stock reservations and sales figures, so
that every store agrees (`reconcile_orders --check` holds afterwards) and analytics shows
something. Refuses to seed a shop that already has products or seeded customers.
"""

import os
import random
import secrets
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from cart.models import CartItem
from catalog import repository as catalog_repository
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from inventory.models import Inventory, StockReservation
from inventory.selectors import RESERVED
from orders import repairs as orders_repairs
from orders import selectors as orders_selectors
from orders.models import Order, OrderLine
from reviews import repository as reviews_repository
from users.models import User

CATEGORY_TREE = {
    "Home & Kitchen": ["Cookware", "Lighting", "Furniture", "Storage"],
    "Electronics": ["Audio", "Computers", "Phones", "Cameras"],
    "Clothing": ["Men", "Women", "Kids"],
    "Sports & Outdoors": ["Camping", "Cycling", "Fitness"],
    "Garden": ["Tools", "Plants", "Outdoor Furniture"],
    "Books & Media": ["Fiction", "Non-fiction", "Music"],
}
ADJECTIVES = ["Classic", "Compact", "Eco", "Deluxe", "Mini", "Pro", "Rustic", "Smart", "Vintage", "Wireless", "Modern"]
MATERIALS = ["Oak", "Steel", "Cotton", "Ceramic", "Bamboo", "Leather", "Glass", "Wool", "Copper", "Linen"]
NOUNS = {
    "Cookware": ["Pan", "Pot", "Kettle", "Knife Set"],
    "Lighting": ["Lamp", "Pendant", "Lantern"],
    "Furniture": ["Chair", "Table", "Shelf", "Stool"],
    "Storage": ["Basket", "Box", "Jar"],
    "Audio": ["Headphones", "Speaker", "Earbuds"],
    "Computers": ["Keyboard", "Mouse", "Monitor Stand", "Laptop Sleeve"],
    "Phones": ["Phone Case", "Charger", "Stand"],
    "Cameras": ["Tripod", "Camera Strap", "Lens Cap"],
    "Men": ["Shirt", "Jacket", "Scarf"],
    "Women": ["Dress", "Sweater", "Tote"],
    "Kids": ["Hoodie", "Backpack", "Beanie"],
    "Camping": ["Tent", "Sleeping Bag", "Stove"],
    "Cycling": ["Helmet", "Bottle Cage", "Saddle Bag"],
    "Fitness": ["Yoga Mat", "Dumbbell", "Jump Rope"],
    "Tools": ["Trowel", "Pruner", "Watering Can"],
    "Plants": ["Planter", "Herb Kit", "Plant Stand"],
    "Outdoor Furniture": ["Bench", "Hammock", "Parasol"],
    "Fiction": ["Novel", "Anthology"],
    "Non-fiction": ["Cookbook", "Field Guide", "Atlas"],
    "Music": ["Vinyl Record", "Songbook"],
}
TAGS = ["sale", "new", "bestseller", "gift", "eco", "limited", "premium", "handmade"]
# Clothing categories -> garments sold as parents with Size x Colour variants.
GARMENTS = {"Men": ["Tee", "Polo", "Hoodie"], "Women": ["Tee", "Cardigan", "Blouse"], "Kids": ["Tee", "Hoodie"]}
SIZES = ["XS", "S", "M", "L", "XL"]
COLORS = ["black", "white", "red", "blue", "green", "natural", "grey"]
# A variant's SKU names its colour in three letters, distinct ones (green and grey are not both GRE).
COLOR_CODES = {
    "black": "BLA", "white": "WHI", "red": "RED", "blue": "BLU", "green": "GRN", "natural": "NAT", "grey": "GRE",
}  # fmt: skip
FIRST_NAMES = ["Ada", "Ben", "Chloe", "David", "Elena", "Femi", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Leo"]
LAST_NAMES = ["Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Khan"]
CITIES = [("Berlin", "10115", "DE"), ("Paris", "75001", "FR"), ("Austin", "73301", "US"), ("Leeds", "LS1 1AA", "GB")]
REVIEW_BODIES = ["Would buy again.", "As described.", "Arrived fast.", "Good value for the price."]
REVIEW_TITLES = {1: "Disappointing", 2: "Not great", 3: "It's fine", 4: "Very good", 5: "Excellent"}
DEFAULT_PASSWORD = "Shop-Passw0rd!"  # noqa: S105 - the demo customers' documented password


class Command(BaseCommand):
    help = "Seed a deterministic demo shop (users, catalog, stock, reviews, wishlists, carts, orders)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--orders", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=42, help="Same seed, same shop.")
        parser.add_argument("--demo", action="store_true", help="A small shop: 200 products, 20 users, 150 orders.")
        parser.add_argument("--stock", type=int, default=None, help="Give every product this many units.")
        parser.add_argument("--password", default=None, help=f"Customers' password (default {DEFAULT_PASSWORD}).")
        parser.add_argument("--no-admin", action="store_true", help="Create no staff account.")

    def handle(self, *args, **options):
        if options["demo"]:
            options.update(products=200, users=20, orders=150)
        if min(options["products"], options["users"]) < 1 or options["orders"] < 0:
            raise CommandError("--products and --users must be at least 1, --orders at least 0.")
        if catalog_repository.product_count({}) or User.objects.filter(email__startswith="customer1@").exists():
            raise CommandError("The shop already has data: seed refuses to seed twice. Use fresh databases.")
        self.rng = random.Random(options["seed"])
        self.seed = options["seed"]
        self.now = timezone.now()
        admin = None if options["no_admin"] else self._admin()
        users = self._users(options["users"], options["password"] or DEFAULT_PASSWORD)
        leaves = self._categories()
        products = self._products(options["products"], leaves, users)
        self._inventory(products, options["stock"])
        variants = self._product_groups(max(1, options["products"] // 25), leaves, users, options["stock"])
        self._wishlists_and_carts(users, products)
        self._orders(options["orders"], users, products + variants)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(users)} customers (customer1@example.com ... password "
                f"{options['password'] or DEFAULT_PASSWORD}), {len(products)} products, {options['orders']} orders."
            )
        )
        if admin:
            self.stdout.write(f"Staff: {admin}")

    # --- people ---------------------------------------------------------------------

    def _admin(self) -> str:
        email, password = os.environ.get("SEED_ADMIN_EMAIL"), os.environ.get("SEED_ADMIN_PASSWORD")
        if not (email and password):
            if not (settings.DEBUG or settings.EMBEDDED):
                raise CommandError(
                    "With DEBUG off, set SEED_ADMIN_EMAIL and SEED_ADMIN_PASSWORD for the staff account "
                    "(or pass --no-admin)."
                )
            # The embedded demo: a random password, kept (0600) where `make load-test` finds it.
            email, password = "admin@example.com", secrets.token_urlsafe(12)
            credentials = settings.DATA_DIR / "admin_credentials"
            credentials.write_text(f"{email} {password}\n")
            credentials.chmod(0o600)
        User.objects.create_superuser(email, password, first_name="Shop", last_name="Admin")
        return f"{email} (password in SEED_ADMIN_PASSWORD or {settings.DATA_DIR / 'admin_credentials'})"

    def _users(self, count: int, password: str) -> list[User]:
        hashed = make_password(password)  # one hash for all: hashing each would take minutes
        users = [
            User(
                email=f"customer{i}@example.com",
                password=hashed,
                first_name=self.rng.choice(FIRST_NAMES),
                last_name=self.rng.choice(LAST_NAMES),
                date_joined=self.now - timedelta(days=self.rng.randint(91, 400)),
            )
            for i in range(1, count + 1)
        ]
        created = []
        for chunk in self._chunks(users, 1000, "users"):
            created += User.objects.bulk_create(chunk)
        return created

    # --- catalog --------------------------------------------------------------------

    def _categories(self) -> list[tuple[str, str]]:
        leaves = []
        for parent_name, children in CATEGORY_TREE.items():
            parent = catalog_services.category_create(name=parent_name, description=f"All of {parent_name}.")
            for child in children:
                category = catalog_services.category_create(
                    name=child, slug=f"{parent.slug}-{child.lower().replace(' ', '-').replace('&', 'and')}",
                    description=f"{child} in {parent_name}.", parent_id=parent.id,
                )  # fmt: skip
                leaves.append((category.id, child))
        return leaves

    def _products(self, count: int, leaves: list, users: list[User]) -> list[dict]:
        """Products with their reviews planned first, so each product's rating is written with it."""
        plans, documents, review_plans = [], [], []
        for i in range(count):
            category_id, category = self.rng.choice(leaves)
            name = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(MATERIALS)} {self.rng.choice(NOUNS[category])}"
            price = Decimal(self.rng.choice([self.rng.randint(199, 4999), self.rng.randint(5000, 49999)])) / 100
            reviewers = self.rng.sample(users, k=min(len(users), self.rng.choice([0, 0, 1, 2, 3, 5])))
            ratings = [self.rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 3, 6, 8])[0] for _ in reviewers]
            created = self.now - timedelta(days=self.rng.randint(91, 365), minutes=i)
            document = catalog_repository.product_document(
                name=name,
                price=price.quantize(Decimal("0.01")),
                description=f"{'An' if name[0] in 'AEIOU' else 'A'} {name.lower()} from our {category.lower()} range. "
                "Made to last.",
                sku=f"SKU-{i + 1:06d}",
                category_id=category_id,
                tags=self.rng.sample(TAGS, k=self.rng.randint(1, 3)),
                images=[f"https://images.example.com/products/{i + 1}.jpg"],
                attributes={"color": self.rng.choice(COLORS), "weight_g": self.rng.randint(50, 5000)},
                is_active=self.rng.random() > 0.03,
                now=created,
            )
            document.update(rating_sum=sum(ratings), rating_count=len(ratings))
            documents.append(document)
            review_plans.append(list(zip(reviewers, ratings, strict=True)))
        ids = []
        for chunk in self._chunks(documents, 1000, "products"):
            ids += catalog_repository.products_insert_many(chunk)
        reviews = [
            reviews_repository.review_document(
                product_id=product_id,
                user_id=user.id,
                rating=rating,
                title=REVIEW_TITLES[rating],
                body=f"{REVIEW_TITLES[rating]}. {self.rng.choice(REVIEW_BODIES)}",
                created_at=self.now - timedelta(days=self.rng.randint(1, 90), minutes=self.rng.randint(0, 1440)),
            )  # fmt: skip
            for product_id, planned in zip(ids, review_plans, strict=True)
            for user, rating in planned
        ]
        for chunk in self._chunks(reviews, 2000, "reviews"):
            reviews_repository.reviews_insert_many(chunk)
        for product_id, document in zip(ids, documents, strict=True):
            plans.append({"id": product_id, "name": document["name"], "active": document["is_active"],
                          "price": Decimal(document["price_cents"]) / 100, "sku": document["sku"] or "",
                          "options": {}, "parent_id": ""})  # fmt: skip
        return plans

    def _product_groups(self, count: int, leaves: list, users: list[User], stock: int | None) -> list[dict]:
        """Clothing sold in Size x Colour: parents of 4 to 12 variants, each bought by its own id,
        with its own SKU, price and stock row (under its parent); reviews filed under the
        parents. Drawn from a random stream of their own. Answers the variants' plans, which
        the seeded orders buy like any product."""
        rng = random.Random(f"variants-{self.seed}")
        clothing = [leaf for leaf in leaves if leaf[1] in GARMENTS] or leaves
        groups, review_plans = [], []
        for i in range(count):
            category_id, category = rng.choice(clothing)
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(GARMENTS.get(category, ['Tee']))}"
            reviewers = rng.sample(users, k=min(len(users), rng.choice([0, 1, 2, 3])))
            ratings = [rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 3, 6, 8])[0] for _ in reviewers]
            base = rng.randint(1500, 5000)
            sizes = SIZES[rng.randint(0, 1) :][: rng.randint(2, 4)]
            colours = rng.sample(COLORS, k=rng.randint(2, 3))
            parent = {
                "name": name, "description": f"{name}, in {len(sizes)} sizes and {len(colours)} colours.",
                "category_id": category_id, "tags": rng.sample(TAGS, k=rng.randint(1, 2)),
                "images": [f"https://images.example.com/groups/{i + 1}.jpg"], "option_names": ["Size", "Colour"],
                "now": self.now - timedelta(days=rng.randint(91, 365), minutes=i),
                "rating_sum": sum(ratings), "rating_count": len(ratings),
            }  # fmt: skip
            variants = [
                {"sku": f"GRP-{i + 1:05d}-{size}-{COLOR_CODES[colour]}",
                 "options": {"Size": size, "Colour": colour.title()},
                 "price": (Decimal(base + 250 * n) / 100).quantize(Decimal("0.01")),
                 "is_active": rng.random() > 0.05}
                for n, size in enumerate(sizes) for colour in colours
            ]  # fmt: skip
            groups.append((parent, variants))
            review_plans.append(list(zip(reviewers, ratings, strict=True)))
        made = catalog_services.product_groups_create_many(groups=groups)
        reviews_repository.reviews_insert_many([
            reviews_repository.review_document(
                product_id=parent.id, user_id=user.id, rating=rating, title=REVIEW_TITLES[rating],
                body=f"{REVIEW_TITLES[rating]}. {rng.choice(REVIEW_BODIES)}",
                created_at=self.now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1440)),
            )
            for (parent, _), planned in zip(made, review_plans, strict=True)
            for user, rating in planned
        ])  # fmt: skip
        plans = [
            {"id": variant.id, "name": variant.name, "active": variant.is_active and parent.is_active,
             "price": variant.price, "sku": variant.sku or "", "options": dict(variant.options),
             "parent_id": parent.id, "stock": stock if stock is not None else rng.randint(0, 60)}
            for parent, variants in made for variant in variants
        ]  # fmt: skip
        Inventory.objects.using(MYSQL).bulk_create(
            [Inventory(product_id=v["id"], parent_id=v["parent_id"], quantity=v["stock"], low_stock_threshold=10)
             for v in plans],
            batch_size=2000,
        )  # fmt: skip
        return plans

    def _inventory(self, products: list[dict], stock: int | None) -> None:
        rows = []
        for product in products:
            low = self.rng.random() < 0.1
            quantity = stock if stock is not None else (self.rng.randint(0, 9) if low else self.rng.randint(20, 300))
            product["stock"] = quantity
            rows.append(Inventory(product_id=product["id"], quantity=quantity, low_stock_threshold=10))
        for chunk in self._chunks(rows, 2000, "inventory"):
            Inventory.objects.using(MYSQL).bulk_create(chunk)

    def _wishlists_and_carts(self, users: list[User], products: list[dict]) -> None:
        active = [p for p in products if p["active"]]
        entries, cart_items = [], []
        for user in users:
            for product in self.rng.sample(active, k=min(len(active), self.rng.randint(0, 4))):
                added = self.now - timedelta(days=self.rng.randint(0, 60))
                entries.append({"user_id": user.id, "product_id": product["id"], "added_at": added})
            if self.rng.random() < 0.3:
                for product in self.rng.sample(active, k=min(len(active), self.rng.randint(1, 3))):
                    cart_items.append(CartItem(user=user, product_id=product["id"], quantity=self.rng.randint(1, 3)))
        for chunk in self._chunks(entries, 2000, "wishlists"):
            reviews_repository.wishlist_entries_insert_many(chunk)
        CartItem.objects.bulk_create(cart_items)

    # --- orders ---------------------------------------------------------------------

    def _status(self, age_days: int) -> str:
        if self.rng.random() < 0.12:
            return Order.Status.CANCELLED
        if age_days > 10:
            return Order.Status.DELIVERED
        return self.rng.choice([Order.Status.PENDING, Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED])

    def _orders(self, count: int, users: list[User], products: list[dict]) -> None:
        """Orders over the last 90 days (standalone products and variants), with what each store
        holds for them: lines (PostgreSQL), reservations and stock (MySQL), as order_place and
        the status changes would have left them. The reservations' statuses come from the orders
        app's rule, and the sales figures are built from them by the books repair (in bulk),
        so the seed holds no rule of its own that could drift from the domain's."""
        active = [p for p in products if p["active"]]
        if not count or not active:
            return
        stock = {p["id"]: p["stock"] for p in products}
        reserved = defaultdict(int)
        for batch in self._chunks(list(range(count)), 2000, "orders"):
            orders, lines_of, reservations = [], [], []
            for _ in batch:
                user = self.rng.choice(users)
                age = self.rng.randint(0, 89)
                created = self.now - timedelta(days=age, seconds=self.rng.randint(0, 86399))
                status = self._status(age)
                picked = [p for p in self.rng.sample(active, k=min(len(active), self.rng.randint(1, 3)))]
                lines = []
                for product in picked:
                    quantity = self.rng.randint(1, 3)
                    if status != Order.Status.CANCELLED:
                        # Stock for what sold: the product was restocked as it sold.
                        quantity = quantity if stock[product["id"]] >= quantity else max(1, stock[product["id"]])
                    lines.append((product, quantity))
                city, postal_code, country = self.rng.choice(CITIES)
                order = Order(
                    user=user, email=user.email, status=status, currency=settings.STORE_CURRENCY,
                    total=sum((p["price"] * q for p, q in lines), Decimal("0")),
                    shipping_address={"name": f"{user.first_name} {user.last_name}", "line1": "1 Market Street",
                                      "city": city, "postal_code": postal_code, "country": country},
                    created_at=created,
                    cancel_reason=Order.CancelReason.CUSTOMER if status == Order.Status.CANCELLED else "",
                )  # fmt: skip
                orders.append(order)
                lines_of.append(lines)
                reservation_status = orders_selectors.reservation_status_for(order_status=status)
                for product, quantity in lines:
                    reservations.append(StockReservation(
                        order_reference=order.reference, product_id=product["id"], name=product["name"],
                        sku=product["sku"], options=product["options"], parent_id=product["parent_id"],
                        quantity=quantity, unit_price=product["price"], sales_date=created.date(),
                        status=reservation_status,
                    ))  # fmt: skip
                    if reservation_status == RESERVED:
                        reserved[product["id"]] += quantity
                    if status != Order.Status.CANCELLED:
                        stock[product["id"]] = max(0, stock[product["id"]] - quantity)
            with transaction.atomic():
                Order.objects.bulk_create(orders)
                OrderLine.objects.bulk_create(
                    OrderLine(order=order, product_id=p["id"], name=p["name"], sku=p["sku"], options=p["options"],
                              unit_price=p["price"], quantity=q, line_total=p["price"] * q)
                    for order, lines in zip(orders, lines_of, strict=True)
                    for p, q in lines
                )  # fmt: skip
            StockReservation.objects.using(MYSQL).bulk_create(reservations)
        Order.objects.filter(created_at__gte=self.now - timedelta(days=91)).update(updated_at=self.now)
        self._write_stock(stock, reserved)
        orders_repairs.sales_figures_correct()

    def _write_stock(self, stock: dict, reserved: dict) -> None:
        rows = list(Inventory.objects.using(MYSQL).filter(product_id__in=list(stock)))
        for row in rows:
            row.quantity = stock[row.product_id]
            row.reserved = reserved.get(row.product_id, 0)
        Inventory.objects.using(MYSQL).bulk_update(rows, ["quantity", "reserved"], batch_size=2000)

    def _chunks(self, items: list, size: int, label: str):
        with tqdm(total=len(items), desc=f"seed {label}", unit=label.rstrip("s"), disable=None,
                  file=self.stderr) as bar:  # fmt: skip
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                yield chunk
                bar.update(len(chunk))
