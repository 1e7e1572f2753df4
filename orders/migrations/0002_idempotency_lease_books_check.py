from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="attempt",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="reference",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="BooksCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("checked_at", models.DateTimeField()),
                ("mismatches", models.PositiveIntegerField()),
                ("by_kind", models.JSONField(default=dict)),
            ],
        ),
    ]
