"""The product's Celery app (and so its beat lock) with only the invoice outbox sweep, every two
seconds instead of every minute, so a fault test sees beat recover lost work within its time.
The sweep itself is the product's: a row counts as lost only SWEEP_GRACE after it was due."""

from platform_crm.celery import app

SWEEP_SECONDS = 2.0

# A beat that lost its Redis is replaced by a new one here, as a supervisor would; its lock
# must not keep the new one waiting for a minute.
app.conf.beat_lock_seconds = 3
app.conf.beat_schedule = {
    "xero-invoices-sweep": {
        "task": "xero_sync.tasks.invoices_sweep_task",
        "schedule": SWEEP_SECONDS,
        "options": {"expires": SWEEP_SECONDS},
    },
}
