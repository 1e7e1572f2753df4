from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_alter_dailysales_cancelled_revenue_and_more"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dailysales",
            name="orders",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="dailysales",
            name="units",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="dailysales",
            name="cancelled_orders",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="dailysales",
            name="cancelled_units",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="productsales",
            name="orders",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="productsales",
            name="units",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="productsales",
            name="cancelled_orders",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="productsales",
            name="cancelled_units",
            field=models.BigIntegerField(default=0),
        ),
    ]
