from django.apps import AppConfig


class XeroSyncConfig(AppConfig):
    name = "xero_sync"
    verbose_name = "Xero sync"
