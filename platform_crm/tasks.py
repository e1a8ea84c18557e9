from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.utils import timezone


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_email_task(*, to: list[str], subject: str, body: str) -> None:
    # SMTP hiccups (OSError covers socket and SMTP errors) are retried with backoff.
    send_mail(subject, body, None, to)


@shared_task
def clear_expired_sessions_task() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
