"""Pure comparison of one CRM invoice or contact with its Xero twin: no database, no network.

Each difference is one field, with both sides in words and which side the repair takes:
- PULL: Xero's word stands and comes to the CRM by the normal path (payments made in Xero,
  an invoice voided or approved there, a contact changed there);
- PUSH: the CRM's word stands and is sent to Xero again (what the CRM issued: an invoice's
  total, lines, contact and currency; a contact changed in the CRM);
- PERSON: no rule decides (amounts that disagree with the same payments on both sides, a
  phone or an archive changed in the CRM, which the CRM never sends to Xero)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from contacts.models import Contact
from invoices.models import InvoiceStatus

from ..contacts.mapping import XeroValues, changes_from_xero, same_name, xero_values
from ..inbound import normalise
from ..invoices.mapping import AMOUNT_DIGITS, AMOUNT_PLACES, invoice_from_xero

PULL, PUSH, PERSON = "pull", "push", "person"

PAYMENTS_RULE = "Xero is the book of record for payments made there"
ISSUED_RULE = "The CRM is the book of record for what it issued"
XERO_STATUS_RULE = "The invoice was voided or approved in Xero"
CONTACT_XERO_RULE = "Changed in Xero since the CRM last read it"
CONTACT_CRM_RULE = "Changed in the CRM since Xero last had it"
NO_RULE = "No rule decides: look at both and correct one"


@dataclass(frozen=True)
class Gap:
    """One field on which the two sides disagree, and how it is repaired."""

    field: str
    crm: str
    xero: str
    repair: str  # PULL, PUSH or PERSON
    why: str
    moved: str = ""  # for contacts: the side that changed ("xero", "crm"), if one did


# --- invoices -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrmInvoice:
    """A linked CRM invoice as the comparison needs it, read in bulk beforehand."""

    status: str  # InvoiceStatus
    total: Decimal
    amount_paid: Decimal
    currency: str
    line_count: int
    contact_xero_id: str  # the Xero ContactID the CRM links its contact to ("" if none)
    xero_payment_ids: frozenset[str]  # the CRM's payments Xero has, by PaymentID
    payments_unsent: int  # CRM payments not (yet) in Xero

    @property
    def amount_due(self) -> Decimal:
        return Decimal(0) if self.status == InvoiceStatus.VOID else self.total - self.amount_paid


# The Xero statuses each CRM status stands for.
EXPECTED_STATUS: Mapping[str, tuple[str, ...]] = {
    InvoiceStatus.DRAFT: ("DRAFT", "SUBMITTED"),
    InvoiceStatus.SENT: ("AUTHORISED",),
    InvoiceStatus.PARTIALLY_PAID: ("AUTHORISED",),
    InvoiceStatus.PAID: ("PAID",),
    InvoiceStatus.VOID: ("VOIDED", "DELETED"),
}
VOID_IN_XERO = ("VOIDED", "DELETED")


def _money(value: object) -> Decimal:
    try:
        return normalise.decimal(value, max_digits=AMOUNT_DIGITS, places=AMOUNT_PLACES)
    except normalise.Unstorable:
        return Decimal(-1)  # unreadable: never equal to a CRM amount, so it shows


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def invoice_gaps(crm: CrmInvoice, raw: object) -> list[Gap]:
    """How a CRM invoice and its Xero twin (Xero's JSON) differ. Raises normalise.Unstorable
    when Xero's record cannot be read at all."""
    found = invoice_from_xero(raw)
    fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
    gaps: list[Gap] = []
    in_xero = {p.payment_id for p in found.payments if p.status != "DELETED"}
    payments_differ = in_xero != crm.xero_payment_ids
    if payments_differ:
        added, removed = len(in_xero - crm.xero_payment_ids), len(crm.xero_payment_ids - in_xero)
        gaps.append(
            Gap(
                "payments",
                f"{len(crm.xero_payment_ids)} payment(s)",
                f"{len(in_xero)} payment(s) ({added} not in the CRM, {removed} gone from Xero)",
                PULL,
                PAYMENTS_RULE,
            )
        )
    # What follows from the payments is repaired with them; otherwise a person looks.
    follows = (PULL, PAYMENTS_RULE) if payments_differ else (PERSON, NO_RULE)
    status = found.status
    if status not in EXPECTED_STATUS.get(crm.status, ()):
        crm_void, xero_void = crm.status == InvoiceStatus.VOID, status in VOID_IN_XERO
        crm_draft, xero_draft = crm.status == InvoiceStatus.DRAFT, status in ("DRAFT", "SUBMITTED")
        if xero_void and not crm_void or crm_draft and not xero_draft:
            repair, why = PULL, XERO_STATUS_RULE
        elif crm_void or xero_draft:
            repair, why = PUSH, ISSUED_RULE
        else:  # paid or not: the payments say
            repair, why = follows
        gaps.append(Gap("status", InvoiceStatus(crm.status).label, status or "—", repair, why))
    if crm.status == InvoiceStatus.VOID or status in VOID_IN_XERO:
        return gaps  # a void invoice owes nothing: its amounts and lines no longer matter
    total = _money(fields.get("Total"))
    if total != crm.total:
        gaps.append(Gap("total", _amount(crm.total), _amount(total), PUSH, ISSUED_RULE))
    paid = _money(fields.get("AmountPaid"))
    if paid != crm.amount_paid:
        gaps.append(Gap("amount_paid", _amount(crm.amount_paid), _amount(paid), *follows))
    # Credits are compared credit note by credit note (credit_note_gaps): here what is due
    # after the credit Xero holds.
    credited = _money(fields.get("AmountCredited") or 0)
    due, owed = _money(fields.get("AmountDue")), crm.amount_due - credited
    if due != owed and total == crm.total:  # a total apart says it already
        gaps.append(Gap("amount_due", _amount(owed), _amount(due), *follows))
    if found.contact_id.lower() != crm.contact_xero_id.lower():
        gaps.append(
            Gap("contact", crm.contact_xero_id or "—", found.contact_id or "—", PUSH, ISSUED_RULE)
        )
    currency = normalise.text(fields.get("CurrencyCode"), 3)
    if currency and currency != crm.currency:
        gaps.append(Gap("currency", crm.currency, currency, PUSH, ISSUED_RULE))
    if len(found.line_item_ids) != crm.line_count:
        gaps.append(
            Gap("lines", str(crm.line_count), str(len(found.line_item_ids)), PUSH, ISSUED_RULE)
        )
    return gaps


def invoice_xero_updated(raw: object) -> datetime | None:
    fields = raw if isinstance(raw, dict) else {}
    return normalise.moment(fields.get("UpdatedDateUTC"))


# --- contacts -------------------------------------------------------------------------------------
# The CRM's fields each compared field stands for, and the fields of Xero's JSON behind it.
COMPARED = {
    "name": ("first_name", "last_name", "company_name"),
    "email": ("email",),
    "phone": ("phone",),
    "archived": ("is_archived",),
}
XERO_FIELDS = ("Name", "FirstName", "LastName", "EmailAddress", "Phones", "ContactStatus")


def _field_of(crm_field: str) -> str:
    return next((name for name, fields in COMPARED.items() if crm_field in fields), "")


def _name(first: str, last: str, company: str) -> str:
    person = " ".join(p for p in (first, last) if p)
    return f"{person} ({company})" if person and company else person or company


def _said(contact: Contact | XeroValues, field: str) -> str:
    if field == "name":
        return _name(contact.first_name, contact.last_name, contact.company_name)
    if field == "archived":
        archived = contact.is_archived if isinstance(contact, Contact) else contact.archived
        return "archived" if archived else "active"
    return str(getattr(contact, field))


def contact_gaps(
    crm: Contact,
    raw: object,
    *,
    base: object,
    region: str,
    crm_changed_since_sync: bool,
) -> list[Gap]:
    """How a CRM contact and its Xero twin differ: name, email, phone, archived. Which side
    moved is told by `base`, Xero's record as the CRM last took it in: Xero's fields apart
    from it mean Xero changed (pulled, where a pull would change the CRM); the same, with the
    CRM changed since, mean the CRM did (pushed, where the CRM can send it); neither, that they
    have differed since they were linked (a person decides). With no base (a contact the CRM
    created in Xero), `crm_changed_since_sync` decides. Raises normalise.Unstorable for an
    unreadable record."""
    values = xero_values(raw, region=region)
    pulled = {_field_of(name) for name, _, _ in changes_from_xero(crm, values)} - {""}
    apart = set(pulled)
    # What a pull leaves alone (Xero holds nothing there) may still disagree.
    if _name_apart(crm, values):
        apart.add("name")
    if crm.email.lower() != values.email.lower():
        apart.add("email")
    if not apart:
        return []
    xero_moved = _xero_moved(raw, base) if base else not crm_changed_since_sync
    gaps = []
    for field in COMPARED:
        if field not in apart:
            continue
        if xero_moved:
            repair, why = (
                (PULL, CONTACT_XERO_RULE)
                if field in pulled
                else (PERSON, "Cleared in Xero; the CRM keeps what it has")
            )
        elif crm_changed_since_sync:  # the contacts' outbox sends every compared field
            repair, why = PUSH, CONTACT_CRM_RULE
        else:
            repair, why = PERSON, "Apart since they were linked, and neither has changed since"
        moved = "xero" if xero_moved else "crm" if crm_changed_since_sync else ""
        gaps.append(Gap(field, _said(crm, field), _said(values, field), repair, why, moved))
    return gaps


def _name_apart(crm: Contact, values: XeroValues) -> bool:
    if values.is_company and not crm.company_name and same_name(values.company_name, crm.full_name):
        return False  # Xero knows this person by their name alone
    ours = (crm.first_name, crm.last_name, crm.company_name)
    return ours != (values.first_name, values.last_name, values.company_name)


def _xero_moved(raw: object, base: object) -> bool:
    now = raw if isinstance(raw, dict) else {}
    then = base if isinstance(base, dict) else {}
    return any(normalise.json_safe(now.get(k)) != then.get(k) for k in XERO_FIELDS)


# --- credit notes ---------------------------------------------------------------------------------
CREDIT_VOIDED_RULE = (
    "Voided in Xero; the CRM has no way to void a credit note yet: "
    "a person decides (credit again in Xero, or correct the CRM by hand)"
)
ALLOCATION_REMOVED_RULE = (
    "The allocation to its invoice was removed in Xero; the CRM cannot set it again over "
    "Xero's change: a person allocates it again in Xero, or decides otherwise"
)
REFUND_REMOVED_RULE = (
    "The refund was removed in Xero; the CRM does not pay it again over Xero's change: "
    "a person decides"
)
NOT_SENT_RULE = "The CRM is the book of record for what it issued: not yet in Xero, sent again"
ISSUED_HELD_RULE = (
    "The CRM is the book of record for what it issued, but Xero holds this credit note already "
    "and the outbox does not rewrite one: a person corrects it in Xero"
)


@dataclass(frozen=True)
class CrmCreditNote:
    """A linked CRM credit note as the comparison needs it, with what its twin says was sent."""

    total: Decimal
    amount_allocated: Decimal  # to its own invoice
    refund_amount: Decimal
    carried_amount: Decimal  # to a credit and reissue's copy
    currency: str
    contact_xero_id: str
    invoice_xero_id: str  # its invoice in Xero
    allocation_sent: bool
    refund_sent: bool


@dataclass(frozen=True)
class XeroCreditNote:
    """What the comparison reads of Xero's credit note."""

    status: str
    total: Decimal
    allocated: Decimal  # to the CRM credit note's invoice
    refunded: Decimal
    refund_id: str  # the first refund's PaymentID ("" if none)
    remaining: Decimal
    contact_id: str
    currency: str


def credit_note_held(raw: object, invoice_xero_id: str) -> XeroCreditNote:
    """Xero's credit note (its JSON), read for the comparison. Raises normalise.Unstorable
    when it cannot be read at all."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero's credit note is not a record")
    allocated = Decimal(0)
    for allocation in raw.get("Allocations") or []:
        if not isinstance(allocation, dict) or allocation.get("IsDeleted") is True:
            continue
        invoice = allocation.get("Invoice")
        if isinstance(invoice, dict) and (
            normalise.text(invoice.get("InvoiceID")).lower() == invoice_xero_id.lower()
        ):
            allocated += _money(allocation.get("Amount"))
    refunds = [
        p
        for p in raw.get("Payments") or []
        if isinstance(p, dict) and normalise.text(p.get("Status")) != "DELETED"
    ]
    contact = raw.get("Contact")
    return XeroCreditNote(
        status=normalise.text(raw.get("Status"), 20),
        total=_money(raw.get("Total")),
        allocated=allocated,
        refunded=sum((_money(p.get("Amount")) for p in refunds), Decimal(0)),
        refund_id=next(
            (normalise.text(p.get("PaymentID"))[:64] for p in refunds if p.get("PaymentID")), ""
        ),
        remaining=_money(raw.get("RemainingCredit") or 0),
        contact_id=normalise.text(contact.get("ContactID")) if isinstance(contact, dict) else "",
        currency=normalise.text(raw.get("CurrencyCode"), 3),
    )


def credit_note_gaps(crm: CrmCreditNote, xero: XeroCreditNote) -> list[Gap]:
    """How a CRM credit note and its Xero twin differ: voided, total, the amount allocated to
    its invoice, the refund, the credit remaining, contact and currency. What the CRM has not
    sent yet is sent again (PUSH); what Xero holds already and differs is a person's to
    correct (the outbox creates credit notes, it never rewrites one), as is a credit note
    voided, or an allocation or refund removed, in Xero (the CRM cannot void or undo them)."""
    if xero.status in VOID_IN_XERO:
        return [Gap("status", "Issued", xero.status, PERSON, CREDIT_VOIDED_RULE)]
    gaps: list[Gap] = []
    if xero.total != crm.total:
        gaps.append(Gap("total", _amount(crm.total), _amount(xero.total), PERSON, ISSUED_HELD_RULE))
    if xero.allocated != crm.amount_allocated:
        if not crm.allocation_sent and xero.allocated == 0:
            repair, why = PUSH, NOT_SENT_RULE
        elif crm.allocation_sent and xero.allocated < crm.amount_allocated:
            repair, why = PERSON, ALLOCATION_REMOVED_RULE
        else:
            repair, why = PERSON, NO_RULE
        gaps.append(
            Gap("allocated", _amount(crm.amount_allocated), _amount(xero.allocated), repair, why)
        )
    if xero.refunded != crm.refund_amount:
        if not crm.refund_sent and xero.refunded == 0:
            repair, why = PUSH, NOT_SENT_RULE
        elif crm.refund_sent and xero.refunded < crm.refund_amount:
            repair, why = PERSON, REFUND_REMOVED_RULE
        else:
            repair, why = PERSON, NO_RULE
        gaps.append(Gap("refund", _amount(crm.refund_amount), _amount(xero.refunded), repair, why))
    # What is left to use: nothing once all is allocated, refunded and carried. Shown only when
    # the parts agree (a part apart says it already) and the total does.
    remaining = crm.total - crm.amount_allocated - crm.refund_amount - crm.carried_amount
    if not gaps and xero.remaining != remaining:
        gaps.append(Gap("remaining", _amount(remaining), _amount(xero.remaining), PERSON, NO_RULE))
    if xero.contact_id.lower() != crm.contact_xero_id.lower():
        gaps.append(
            Gap(
                "contact",
                crm.contact_xero_id or "—",
                xero.contact_id or "—",
                PERSON,
                ISSUED_HELD_RULE,
            )
        )
    if xero.currency and xero.currency != crm.currency:
        gaps.append(Gap("currency", crm.currency, xero.currency, PERSON, ISSUED_HELD_RULE))
    return gaps
