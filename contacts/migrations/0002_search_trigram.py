"""Trigram indexes so contact search (case-insensitive "contains", which Django writes as
UPPER(col) LIKE UPPER(%s) on PostgreSQL) stays fast at 100,000 contacts. PostgreSQL only:
pg_trgm is a trusted extension since PostgreSQL 13, so the database owner may create it."""

from django.db import migrations

COLUMNS = ("first_name", "last_name", "company_name", "email")


def create(apps, schema_editor):
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS contact_{column}_trgm ON contacts_contact "
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
