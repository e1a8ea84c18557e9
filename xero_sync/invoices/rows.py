"""One claimed outbox row and what a drain learnt about it, and running a step row by row."""

from collections.abc import Callable
from dataclasses import dataclass, field

from ..client.errors import XeroError
from ..client.shapes import InvoiceBody
from ..organisation.models import OrganisationSettings
from .models import InvoiceSync
from .refusals import RowFailed, is_definite, refusal


@dataclass
class Row:
    """One claimed outbox row and what this drain learnt about it."""

    sync: InvoiceSync
    version: int
    failed: RowFailed | None = None
    body: InvoiceBody | None = None  # the invoice as sent to Xero
    fingerprint: str = ""
    done: bool = False  # through every step: nothing left to send for it
    reached: bool = True  # False: an earlier row's call was interrupted before its turn
    moved: bool = False  # an invoice or payment of it was written to Xero (activity)
    # Refused only because a sibling in its request was at fault: goes again next round.
    deferred: bool = False
    # The organisation's settings as last read (currencies, lock dates, themes, tracking),
    # read once for the batch: the pre-flight and the body both need them.
    organisation: OrganisationSettings | None = None
    # Product id -> the Xero ItemCode its lines carry, for the batch (items_link).
    item_codes: dict[int, str] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.failed is None and not self.deferred


def per_row(rows: list[Row], step: Callable[[Row], None]) -> None:
    """Run a per-row step; a validation refusal fails that row only. When a row's call is
    interrupted, the rows after it were not reached: the failure is not theirs."""
    for n, row in enumerate(rows):
        if not row.live:
            continue
        try:
            step(row)
        except RowFailed as failed:  # the step's own pre-flight, or a refusal it explained
            row.failed = failed
        except XeroError as refused:
            if not is_definite(refused):
                for later in rows[n + 1 :]:
                    later.reached = False
                raise
            row.failed = refusal(row.sync, getattr(refused, "messages", []) or [refused.message])


def spare_others(rows: list[Row], involved: list[Row]) -> None:
    """The call that failed carried only `involved`' work: the batch's other rows are not
    charged for it (nor backed off); they go again at once."""
    for row in rows:
        if row.live and not any(row is other for other in involved):
            row.reached = False
