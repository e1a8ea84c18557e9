from django.apps import AppConfig


class PlatformCrmConfig(AppConfig):
    name = "platform_crm"
    verbose_name = "Platform CRM"

    def ready(self) -> None:
        # Imported for their side effects: the system checks and the Celery logging signals.
        from . import checks, task_logging  # noqa: F401
