"""xero_sync's tasks. Each part's own tasks are imported here so that Celery's autodiscovery,
which reads this module, finds them; their names stay "xero_sync.tasks.<function>" wherever
they live (messages in flight and beat's stored schedule name them)."""

from .connection import tasks as connection_tasks  # noqa: F401
from .contacts import tasks as contacts_tasks  # noqa: F401
from .inbound import tasks as inbound_tasks  # noqa: F401
from .invoices import tasks as invoices_tasks  # noqa: F401
from .items import tasks as items_tasks  # noqa: F401
from .ops import tasks as ops_tasks  # noqa: F401
from .reconcile import tasks as reconcile_tasks  # noqa: F401
from .webhooks import tasks as webhooks_tasks  # noqa: F401
