"""The product's Celery app (and so its beat scheduler and lock) with only the sweeps (the invoice
and contact outboxes, contact imports, webhook deliveries), every two seconds instead of every
minute, so a fault test sees beat recover lost work within its time. The sweeps themselves are the
product's: an outbox row counts as lost only SWEEP_GRACE after it was due, an import or a
delivery XERO_STALLED_AFTER after it last moved (the fault tests' processes set it short)."""

from platform_crm.celery import app

SWEEP_SECONDS = 2.0

# A beat's lock lasts 3 s here instead of a minute (renewed every tick, at least every second).
app.conf.redbeat_lock_timeout = 3
app.conf.beat_max_loop_interval = 1
app.conf.beat_schedule = {
    name: {"task": task, "schedule": SWEEP_SECONDS, "options": {"expires": SWEEP_SECONDS}}
    for name, task in (
        ("xero-invoices-sweep", "xero_sync.tasks.invoices_sweep_task"),
        ("xero-contacts-push-sweep", "xero_sync.tasks.contacts_push_sweep_task"),
        ("xero-contact-imports-sweep", "xero_sync.tasks.contact_imports_sweep_task"),
        ("xero-webhook-deliveries-sweep", "xero_sync.tasks.webhook_deliveries_sweep_task"),
    )
}
