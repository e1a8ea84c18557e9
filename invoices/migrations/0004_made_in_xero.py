from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0003_credit_notes"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="made_in",
            field=models.CharField(
                choices=[("crm", "In the CRM"), ("xero", "In Xero"), ("sync", "Sync")],
                default="crm",
                max_length=10,
            ),
        ),
    ]
