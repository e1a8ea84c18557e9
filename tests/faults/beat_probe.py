"""The product's Celery app (and so its beat lock) with a schedule that shows itself: one
entry sent every half second to a queue no worker reads, so the test can count what each beat
sent (a message's `origin` names the process that sent it). The product's own entries run
minutes or days apart; they are left out so nothing else lands on the broker."""

from platform_crm.celery import app

PROBE_QUEUE = "beat-probe"

# A dead beat's lock lasts 3 s here instead of a minute, so a takeover fits in a test.
app.conf.redbeat_lock_timeout = 3
app.conf.beat_max_loop_interval = 1
app.conf.beat_schedule = {
    "probe": {
        "task": "platform_crm.tasks.clear_expired_sessions_task",
        "schedule": 0.5,
        "options": {"queue": PROBE_QUEUE, "expires": 60},
    },
}
