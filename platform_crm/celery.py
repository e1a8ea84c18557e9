"""The Celery app: queues, routing and the one beat schedule (run by exactly one beat at a
time: platform_crm/beat_scheduler.py).

Start a worker:  celery -A platform_crm worker -Q xero,email,default -l info
Start beat:      celery -A platform_crm beat -l info
"""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_crm.settings")

app = Celery("platform_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")

app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Tasks acknowledge after they finish, so a killed worker's task is redelivered; every task
    # is therefore written to be safe to run twice.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="default",
    task_queues=(Queue("xero"), Queue("email"), Queue("default")),
    # All Xero I/O runs on its own queue so a slow Xero never holds up email or other work.
    task_routes={
        "xero_sync.*": {"queue": "xero"},
        "platform_crm.tasks.send_email_task": {"queue": "email"},
    },
    broker_connection_retry_on_startup=True,
    worker_send_task_events=True,
    task_send_sent_event=True,
    timezone="UTC",
    # Beat (platform_crm/beat_scheduler.py) schedules only while it holds a lock in Redis,
    # renewed at every tick (at least every 10 s); a dead beat's lock outlives it by a minute.
    beat_max_loop_interval=10,
    redbeat_lock_timeout=60,
)

# The one beat schedule. Each entry says why it runs and expires before the next run, so a
# backlog never piles up duplicates of periodic work.
app.conf.beat_schedule = {
    # Xero refresh tokens die after 60 days unused; disconnect cleanly (and warn a week ahead)
    # while the token still works. Each email goes out once however often this runs.
    "xero-disconnect-inactive": {
        "task": "xero_sync.tasks.disconnect_inactive_connections_task",
        "schedule": crontab(hour=4, minute=7),
        "options": {"expires": 6 * 60 * 60},
    },
    # The outbox sweep: invoice pushes committed but never delivered to a worker (broker or
    # worker died between commit and publish), or whose wait for Xero's limits is over.
    "xero-invoices-sweep": {
        "task": "xero_sync.tasks.invoices_sweep_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # The contacts' outbox sweep: CRM contact changes committed but never pushed (a lost
    # message, a killed worker), or whose wait for Xero's limits is over.
    "xero-contacts-push-sweep": {
        "task": "xero_sync.tasks.contacts_push_sweep_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # Contact imports and previews under way whose task was lost (a killed worker, an emptied
    # broker) resume at their checkpoint.
    "xero-contact-imports-sweep": {
        "task": "xero_sync.tasks.contact_imports_sweep_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # Past-invoice imports and previews under way whose task was lost resume at their
    # checkpoint.
    "xero-past-invoice-imports-sweep": {
        "task": "xero_sync.tasks.past_invoice_imports_sweep_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # Webhook deliveries stored but never processed (Redis was down when Xero called, or the
    # worker died with the message) are queued again.
    "xero-webhook-deliveries-sweep": {
        "task": "xero_sync.tasks.webhook_deliveries_sweep_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # The safety net under INVOICE and CREDITNOTE webhooks: invoices and credit notes made in
    # Xero, and payments, allocations, refunds and status changes made there.
    "xero-invoices-poll": {
        "task": "xero_sync.tasks.invoices_poll_task",
        "schedule": 10 * 60,
        "options": {"expires": 5 * 60},
    },
    # Failures beyond the first few in ten minutes are emailed as one digest per account.
    "xero-failure-digests": {
        "task": "xero_sync.tasks.failure_digests_task",
        "schedule": 2 * 60,
        "options": {"expires": 60},
    },
    # Contacts come in at connection: a set-up left before its contacts step (15 minutes
    # after connecting, no import started) imports all of them.
    "xero-contact-imports-at-connection": {
        "task": "xero_sync.tasks.contact_imports_at_connection_task",
        "schedule": 60,
        "options": {"expires": 50},
    },
    # The safety net under CONTACT webhooks: whatever Xero changed since the last sync.
    "xero-contacts-poll": {
        "task": "xero_sync.tasks.contacts_poll_task",
        "schedule": 15 * 60,
        "options": {"expires": 10 * 60},
    },
    # The books agree: each organisation's linked invoices and contacts are compared with
    # Xero once a day (a run starts a day after the last began); a run whose task was lost
    # is queued again and resumes at its checkpoint.
    "xero-reconciliations": {
        "task": "xero_sync.tasks.reconciliations_due_task",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    # Expired sessions accumulate in the database; Django leaves their removal to us.
    "clear-expired-sessions": {
        "task": "platform_crm.tasks.clear_expired_sessions_task",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 60 * 60},
    },
}

app.autodiscover_tasks()
