from django.apps import AppConfig


class XeroSyncConfig(AppConfig):
    name = "xero_sync"
    verbose_name = "Xero sync"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .invoices.badge import invoice_badge_register

        invoice_badge_register()
