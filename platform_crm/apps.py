from django.apps import AppConfig


class PlatformCrmConfig(AppConfig):
    name = "platform_crm"
    verbose_name = "Platform CRM"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
