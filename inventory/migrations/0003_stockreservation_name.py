from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_stockreservation"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockreservation",
            name="name",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
    ]
