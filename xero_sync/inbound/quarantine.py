"""Records from Xero that could not be stored: held apart with their reason, never in the way
of their neighbours, shown on Sync failures with Retry, released when a later sync stores them.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from platform_crm.queueing import enqueue_on_commit

from ..models import XeroConnection
from . import normalise
from .models import QuarantinedRecord, QuarantineKind

RAW_LIMIT = 100_000  # characters of Xero's JSON kept per record


@dataclass(frozen=True)
class Held:
    """A record set aside by a sync, before it is written down."""

    kind: str
    raw: object
    reason: str
    xero_id: str = ""
    label: str = ""
    parent_xero_id: str = ""


def raw_text(raw: object) -> str:
    """Xero's JSON as text any column holds: escaped (NUL, lone surrogates and all), cut to
    RAW_LIMIT characters."""
    try:
        text = json.dumps(raw, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(raw)[:RAW_LIMIT]
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + " …(cut)"


def _id(value: object) -> str:
    return normalise.text(value)[:64]


def quarantine_hold(*, connection: XeroConnection, held: Iterable[Held], source: str) -> int:
    """Write down what a sync set aside. A record already held (the same kind and Xero id, or
    without an id the same JSON; not yet released) is seen again: its reason and raw JSON are
    the latest, its count goes up."""
    count = 0
    now = timezone.now()
    for record in held:
        xero_id = _id(record.xero_id)
        fields = {
            "parent_xero_id": _id(record.parent_xero_id),
            "label": normalise.text(record.label, 255),
            "raw": raw_text(record.raw),
            "reason": normalise.text(record.reason, 2000, lines=True) or "no reason given",
            "source": source[:30],
            "last_seen_at": now,
        }
        same = {"xero_id": xero_id} if xero_id else {"xero_id": "", "raw": fields["raw"]}
        with transaction.atomic():
            open_row = (
                QuarantinedRecord.objects.select_for_update()
                .filter(connection=connection, kind=record.kind, resolved_at=None, **same)
                .first()
            )
            if open_row is None:
                QuarantinedRecord.objects.create(
                    connection=connection, kind=record.kind, xero_id=xero_id, **fields
                )
            else:
                QuarantinedRecord.objects.filter(pk=open_row.pk).update(
                    times_seen=F("times_seen") + 1, **fields
                )
        count += 1
    return count


def quarantine_release(
    *, connection: XeroConnection, kind: str, xero_ids: Iterable[str], resolution: str
) -> int:
    """Records of `kind` a sync has now stored are no longer held."""
    ids = [i for i in xero_ids if i]
    if not ids:
        return 0
    return QuarantinedRecord.objects.filter(
        connection=connection, kind=kind, xero_id__in=ids, resolved_at=None
    ).update(resolved_at=timezone.now(), resolution=resolution[:200])


def quarantine_open(connection: XeroConnection) -> QuerySet[QuarantinedRecord]:
    return QuarantinedRecord.objects.filter(connection=connection, resolved_at=None)


def retry_target(record: QuarantinedRecord) -> tuple[str, str]:
    """What a Retry fetches from Xero again: (CONTACT, INVOICE or CREDITNOTE, its Xero id);
    ("", "") when there is nothing to fetch by (Xero sent no id), and the record can only be
    dismissed."""
    if record.kind == QuarantineKind.CONTACT and record.xero_id:
        return "CONTACT", record.xero_id
    if record.kind == QuarantineKind.INVOICE and record.xero_id:
        return "INVOICE", record.xero_id
    if record.kind == QuarantineKind.CREDIT_NOTE and record.xero_id:
        return "CREDITNOTE", record.xero_id
    if record.kind == QuarantineKind.PAYMENT and record.parent_xero_id:
        return "INVOICE", record.parent_xero_id
    return "", ""


def quarantine_retry(*, record: QuarantinedRecord) -> None:
    """A person's Retry: the record is fetched from Xero again after commit (a task)."""
    enqueue_on_commit("xero_sync.tasks.quarantine_retry_task", record.pk)
