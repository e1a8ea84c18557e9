"""Contacts imported before companies were told from people: a Xero contact with no FirstName
or LastName had its Name split into a made-up person ("Te" "Awamutu Coffee Co. (2)") besides
the company. Where the CRM still holds exactly that split, the made-up names are cleared (the
change is recorded in the contact's history, as the sync records its changes)."""

from django.db import migrations


def unsplit(apps, schema_editor):
    XeroContact = apps.get_model("xero_sync", "XeroContact")
    ContactChange = apps.get_model("contacts", "ContactChange")
    links = XeroContact.objects.select_related("contact").only(
        "payload", "contact__first_name", "contact__last_name", "contact__company_name"
    )
    for link in links.iterator(chunk_size=2000):
        payload, contact = link.payload or {}, link.contact
        if payload.get("FirstName") or payload.get("LastName") or not contact.company_name:
            continue
        split = f"{contact.first_name} {contact.last_name}".strip()
        if not contact.first_name or split != contact.company_name.strip():
            continue
        for field in ("first_name", "last_name"):
            old = getattr(contact, field)
            if old:
                ContactChange.objects.create(
                    contact=contact, field=field, old_value=old, new_value="", source="xero"
                )
        contact.first_name = contact.last_name = ""
        contact.save(update_fields=["first_name", "last_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("xero_sync", "0006_quarantine_duplicates_group_members_retries"),
        ("contacts", "0003_display_name_sort_wider_phone"),
    ]

    operations = [migrations.RunPython(unsplit, migrations.RunPython.noop)]
