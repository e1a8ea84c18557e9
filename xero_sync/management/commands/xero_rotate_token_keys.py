from django.core.management.base import BaseCommand
from django.db import transaction

from xero_sync.connection import token_vault
from xero_sync.models import XeroConnection


def _reseal(ciphertext: str) -> str:
    # Read through the vault first: a key dropped before this ran is then reported in plain
    # words (ImproperlyConfigured), not as a bare InvalidToken from cryptography.
    token_vault.decrypt(ciphertext)
    return token_vault.rotate(ciphertext)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Xero token with the first key in XERO_TOKEN_KEYS. Put the new "
        "key first, run this, then remove the old key."
    )

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        for pk in XeroConnection.objects.values_list("pk", flat=True):
            with transaction.atomic():
                connection = XeroConnection.objects.select_for_update().get(pk=pk)
                connection.access_token_encrypted = _reseal(connection.access_token_encrypted)
                connection.refresh_token_encrypted = _reseal(connection.refresh_token_encrypted)
                connection.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the tokens of {count} connections."))
