"""Writes for invoices and payments. Every change recomputes totals with taxes.calculation and
sends invoices.signals.invoice_changed inside its transaction."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from contacts.models import Contact
from platform_crm.models import Account
from taxes.models import TaxRate

from .history import change_record, invoice_event_record
from .models import (
    NUMBER_MAX_LENGTH,
    ZERO,
    EventSource,
    Invoice,
    InvoiceLine,
    InvoiceNumbering,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    TaxMode,
)
from .selectors import invoice_number_fixed_reason
from .signals import invoice_changed, invoice_numbers_held
from .totals import totals_for, totals_too_large

NUMBER_DIGITS = 4  # INV-0001, as Xero numbers them
# Candidates the allocator checks at once (numbers already used are skipped a window at a time).
NUMBER_WINDOW = 20
HEADER_FIELDS = ("contact", "name", "issue_date", "due_date", "currency", "tax_mode", "number")


@dataclass(frozen=True)
class LineInput:
    """One line as a caller wants it. `id` names an existing line to edit in place."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal = Decimal(0)
    tax_rate: TaxRate | None = None
    id: int | None = None


def numbers_held_elsewhere(*, account: Account, numbers: Sequence[str]) -> dict[str, str]:
    """{number: why} for the numbers the account's connected books already hold
    (signals.invoice_numbers_held)."""
    held: dict[str, str] = {}
    # Receivers answer {number: why} or None (django-stubs types every answer as str | None).
    answers = cast(
        list[tuple[object, dict[str, str] | None]],
        invoice_numbers_held.send(sender=Invoice, account=account, numbers=numbers),
    )
    for _, answer in answers:
        held.update(answer or {})
    return held


def _first_free(account: Account, numbering: InvoiceNumbering) -> tuple[str, int]:
    """The first number of the sequence used neither here (an invoice numbered by hand, say)
    nor in the connected books; and the sequence's next value after it."""
    start = numbering.next_number
    while True:
        window = {
            f"{numbering.prefix}{n:0{NUMBER_DIGITS}d}": n
            for n in range(start, start + NUMBER_WINDOW)
        }
        used = set(
            Invoice.objects.filter(account=account, number__in=window).values_list(
                "number", flat=True
            )
        )
        used |= set(numbers_held_elsewhere(account=account, numbers=list(window)))
        for number, n in window.items():
            if number not in used:
                return number, n + 1
        start += NUMBER_WINDOW


def invoice_number_allocate(*, account: Account) -> str:
    """The account's next free number. The numbering row stays locked until the caller's
    transaction ends, so two concurrent invoices never take the same number."""
    with transaction.atomic():
        InvoiceNumbering.objects.get_or_create(account=account)
        numbering = InvoiceNumbering.objects.select_for_update().get(account=account)
        number, numbering.next_number = _first_free(account, numbering)
        numbering.save(update_fields=["next_number"])
        return number


def _number_set(invoice: Invoice, number: str) -> None:
    """Renumber `invoice` (saved by the caller), or raise ValidationError on the number field."""

    def refuse(why: str) -> NoReturn:
        raise ValidationError({"number": why})

    if not number:
        refuse("Give the invoice a number.")
    if len(number) > NUMBER_MAX_LENGTH:
        refuse(f"An invoice number has at most {NUMBER_MAX_LENGTH} characters.")
    fixed = invoice_number_fixed_reason(invoice)
    if fixed:
        refuse(f"The number can no longer change: {fixed}")
    taken = Invoice.objects.filter(account=invoice.account_id, number__iexact=number)
    if taken.exclude(pk=invoice.pk).exists():
        refuse(f"Another invoice is already numbered {number}.")
    held = numbers_held_elsewhere(account=invoice.account, numbers=[number])
    if held:
        refuse(next(iter(held.values())))
    invoice_event_record(invoice, f"Number changed from {invoice.number} to {number}")
    invoice.number = number


def _number_given(invoice: Invoice, number: str) -> None:
    if len(number) > NUMBER_MAX_LENGTH:
        raise ValidationError(
            {"number": f"An invoice number has at most {NUMBER_MAX_LENGTH} characters."}
        )
    if Invoice.objects.filter(account=invoice.account_id, number__iexact=number).exists():
        raise ValidationError({"number": f"Another invoice is already numbered {number}."})
    invoice.number = number


def _send(invoice: Invoice, change: str, payment: Payment | None = None) -> None:
    change_record(invoice, change, payment)
    invoice_changed.send(sender=Invoice, invoice=invoice, change=change, payment=payment)


def _lock(invoice: Invoice) -> Invoice:
    """Lock the invoice's row for this transaction and reload the caller's instance."""
    Invoice.objects.select_for_update().filter(pk=invoice.pk).values_list("pk").get()
    invoice.refresh_from_db()
    return invoice


def _validate_header(invoice: Invoice) -> None:
    errors = {}
    if invoice.contact is not None and invoice.contact.account_id != invoice.account_id:
        errors["contact"] = "Choose a contact of this account."
    if invoice.due_date and invoice.issue_date and invoice.due_date < invoice.issue_date:
        errors["due_date"] = "The due date cannot be before the issue date."
    if invoice.tax_mode not in TaxMode.values:
        errors["tax_mode"] = "Choose how tax applies."
    if not invoice.currency or len(invoice.currency) != 3:
        errors["currency"] = "Give a three-letter currency code, e.g. NZD."
    if errors:
        raise ValidationError(errors)


def _validate_line(invoice: Invoice, line: LineInput, n: int) -> None:
    where = f"Line {n}"
    if line.tax_rate is not None and line.tax_rate.account_id != invoice.account_id:
        raise ValidationError(f"{where}: choose a tax rate of this account.")
    if Decimal(line.quantity) < 0:
        raise ValidationError(f"{where}: the quantity cannot be negative.")
    if not Decimal(0) <= Decimal(line.discount_rate) <= Decimal(100):
        raise ValidationError(f"{where}: the discount is a percentage from 0 to 100.")


def _totals_apply(invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    """Set each line's amounts and the invoice's totals from taxes.calculation; refused when
    they would not fit their columns."""
    totals = totals_for(tax_mode=invoice.tax_mode, lines=lines)
    too_large = totals_too_large(totals)
    if too_large:
        raise ValidationError(too_large)
    for line, result in zip(lines, totals.lines, strict=True):
        line.line_amount, line.tax_amount = result.line_amount, result.tax_amount
    invoice.subtotal, invoice.total_tax, invoice.total = (
        totals.subtotal,
        totals.total_tax,
        totals.total,
    )


def _status_from_payments(invoice: Invoice) -> str:
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return invoice.status
    if invoice.amount_paid > 0 and invoice.amount_paid >= invoice.total:
        return InvoiceStatus.PAID
    if invoice.amount_paid > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.SENT


def _lines_save(invoice: Invoice, lines: Sequence[LineInput]) -> None:
    """Make the invoice's lines exactly `lines`: edit those with an id in place, add the rest,
    delete the ones not mentioned; then recompute every amount from the lines as stored."""
    for n, line in enumerate(lines, start=1):
        _validate_line(invoice, line, n)
    existing = {line.pk: line for line in invoice.lines.all()}
    ids = [line.id for line in lines if line.id is not None]
    if any(line_id not in existing for line_id in ids):
        raise ValidationError("A line being edited is not on this invoice.")
    if len(set(ids)) != len(ids):
        # Two rows editing one line would leave one line stored and two counted.
        raise ValidationError("The same line appears twice; reload the invoice and edit again.")
    rows = []
    for position, data in enumerate(lines):
        row = existing[data.id] if data.id is not None else InvoiceLine(invoice=invoice)
        row.position = position
        row.description = data.description.strip()
        row.quantity = Decimal(data.quantity)
        row.unit_price = Decimal(data.unit_price)
        row.discount_rate = Decimal(data.discount_rate or 0)
        row.tax_rate = data.tax_rate
        rows.append(row)
    # Refuse what cannot be stored before writing anything.
    _totals_apply(invoice, rows)
    kept = {row.pk for row in rows if row.pk}
    invoice.lines.exclude(pk__in=kept).delete()
    for row in rows:
        row.save()
    _totals_from_stored_lines(invoice)


def _totals_from_stored_lines(invoice: Invoice) -> None:
    """The invoice's totals and its lines' amounts, from the lines as they are stored: whatever
    a caller passed, a stored total is always its stored lines' total."""
    rows = list(invoice.lines.select_related("tax_rate").prefetch_related("tax_rate__components"))
    _totals_apply(invoice, rows)
    InvoiceLine.objects.bulk_update(rows, ["line_amount", "tax_amount"])


def invoice_create(
    *,
    account: Account,
    lines: Sequence[LineInput] = (),
    contact: Contact | None = None,
    name: str = "",
    issue_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    currency: str | None = None,
    tax_mode: str = TaxMode.EXCLUSIVE,
    number: str = "",
    made_in: str = EventSource.CRM,
) -> Invoice:
    """A draft invoice with its lines, numbered from the account's sequence; or, for an
    invoice made in connected books and brought in (`made_in`), under its number there (not
    refused for being held in those books: it is theirs, but refused if another CRM invoice
    has it)."""
    invoice = Invoice(
        account=account,
        contact=contact,
        name=name.strip(),
        issue_date=issue_date or timezone.localdate(),
        due_date=due_date,
        currency=(currency or account.currency).upper(),
        tax_mode=tax_mode,
        status=InvoiceStatus.DRAFT,
        made_in=made_in,
    )
    _validate_header(invoice)
    with transaction.atomic():
        if number:
            _number_given(invoice, number.strip())
        else:
            invoice.number = invoice_number_allocate(account=account)
        invoice.save()
        _lines_save(invoice, lines)
        invoice.save(update_fields=["subtotal", "total_tax", "total", "updated_at"])
        _send(invoice, "created")
    return invoice


def invoice_update(
    *, invoice: Invoice, lines: Sequence[LineInput] | None = None, **fields: Any
) -> Invoice:
    """Change the header (any of HEADER_FIELDS) and, when `lines` is given, make the lines
    exactly those. Refused on a void or paid invoice, and when the new total would be less than
    what has already been paid."""
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise TypeError(f"invoice_update() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        _lock(invoice)
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is void and can no longer be edited.")
        if invoice.status == InvoiceStatus.PAID:
            raise ValidationError(
                "This invoice is paid and can no longer be edited. "
                "Delete a payment first if it needs changing."
            )
        number = fields.pop("number", None)
        if number is not None and number.strip() != invoice.number:
            _number_set(invoice, number.strip())
        for field, value in fields.items():
            setattr(invoice, field, value.strip() if isinstance(value, str) else value)
        invoice.currency = invoice.currency.upper()
        _validate_header(invoice)
        if lines is not None:
            _lines_save(invoice, lines)
        else:
            # The tax mode may have changed: recompute from the stored lines.
            _totals_from_stored_lines(invoice)
        if invoice.status != InvoiceStatus.DRAFT:
            if invoice.contact_id is None:
                raise ValidationError({"contact": "An issued invoice needs a contact."})
            if invoice.due_date is None:
                raise ValidationError({"due_date": "An issued invoice needs a due date."})
            if not invoice.lines.exists():
                raise ValidationError("An issued invoice needs at least one line.")
        if invoice.total < invoice.amount_paid:
            raise ValidationError(
                f"The new total ({invoice.total}) is less than what has been paid "
                f"({invoice.amount_paid}). Delete a payment first."
            )
        invoice.status = _status_from_payments(invoice)
        invoice.save()
        _send(invoice, "updated")
    return invoice


def invoice_renumber(*, invoice: Invoice) -> Invoice:
    """Give the invoice the account's next free number (its own is taken in the books)."""
    with transaction.atomic():
        _lock(invoice)
        if not invoice.is_editable:
            raise ValidationError(
                f"This invoice is {invoice.get_status_display().lower()}; "
                "its number can no longer change."
            )
        _number_set(invoice, invoice_number_allocate(account=invoice.account))
        invoice.save(update_fields=["number", "updated_at"])
        # Its history already says what changed ("Number changed from … to …").
        invoice_changed.send(sender=Invoice, invoice=invoice, change="updated", payment=None)
    return invoice


def invoice_issue(*, invoice: Invoice) -> Invoice:
    """Draft -> sent. Needs a contact, a due date and at least one line."""
    with transaction.atomic():
        _lock(invoice)
        if invoice.status != InvoiceStatus.DRAFT:
            raise ValidationError(
                f"Only a draft can be issued; this invoice is {invoice.get_status_display()}."
            )
        missing = []
        if invoice.contact_id is None:
            missing.append("a contact")
        if invoice.due_date is None:
            missing.append("a due date")
        if not invoice.lines.exists():
            missing.append("at least one line")
        if missing:
            raise ValidationError(f"Before it can be issued, the invoice needs {_and(missing)}.")
        invoice.status = InvoiceStatus.SENT
        invoice.status = _status_from_payments(invoice)
        invoice.save(update_fields=["status", "updated_at"])
        _send(invoice, "issued")
    return invoice


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _paid_refresh(invoice: Invoice) -> None:
    invoice.amount_paid = invoice.payments.aggregate(s=Sum("amount"))["s"] or ZERO
    invoice.status = _status_from_payments(invoice)
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])


def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    date: datetime.date | None = None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    by: User | None = None,
) -> Payment:
    """Take a payment against an issued invoice; never more than the amount due."""
    amount = Decimal(amount)
    with transaction.atomic():
        _lock(invoice)
        if invoice.status == InvoiceStatus.DRAFT:
            raise ValidationError("Issue the invoice before recording a payment against it.")
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is void; it cannot take payments.")
        if invoice.status == InvoiceStatus.PAID:
            raise ValidationError("This invoice is already paid in full.")
        if amount <= 0:
            raise ValidationError({"amount": "A payment must be more than zero."})
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError({"amount": "Give the amount in whole cents."})
        if amount > invoice.amount_due:
            raise ValidationError(
                {
                    "amount": f"This is more than the amount due ({invoice.amount_due} "
                    f"{invoice.currency}). A payment cannot exceed the amount due."
                }
            )
        if method not in PaymentMethod.values:
            raise ValidationError({"method": "Choose how it was paid."})
        payment = Payment.objects.create(
            invoice=invoice,
            amount=amount,
            date=date or timezone.localdate(),
            method=method,
            reference=reference.strip(),
            recorded_by=by,
        )
        _paid_refresh(invoice)
        _send(invoice, "paid", payment)
    return payment


def payment_delete(*, payment: Payment) -> Invoice:
    """Remove a payment (say, one recorded by mistake); the invoice's status follows."""
    with transaction.atomic():
        invoice = _lock(payment.invoice)
        # A queryset delete leaves the instance's id in place for the signal's receivers.
        Payment.objects.filter(pk=payment.pk).delete()
        _paid_refresh(invoice)
        _send(invoice, "payment_deleted", payment)
    return invoice


def invoice_void(*, invoice: Invoice) -> Invoice:
    """Void an invoice. One with payments is refused: remove its payments first."""
    with transaction.atomic():
        _lock(invoice)
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError("This invoice is already void.")
        if invoice.payments.exists():
            raise ValidationError(
                "This invoice has payments recorded against it. "
                "Delete its payments first, then void it."
            )
        invoice.status = InvoiceStatus.VOID
        invoice.save(update_fields=["status", "updated_at"])
        _send(invoice, "voided")
    return invoice


def invoice_reissue(*, invoice: Invoice, by: User | None = None) -> Invoice:
    """Void an issued invoice and issue a copy as it stands now, under a new number, with its
    payments moved across: how an invoice whose books can no longer change (a payment applied
    in Xero, say) takes an edit. Nothing is lost: the copy has the same contact, lines and
    payments, and the original stays, void, for the record."""
    with transaction.atomic():
        _lock(invoice)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError("Only an issued invoice can be voided and reissued.")
        copy = invoice_create(
            account=invoice.account,
            contact=invoice.contact,
            name=invoice.name,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            currency=invoice.currency,
            tax_mode=invoice.tax_mode,
            lines=[
                LineInput(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount_rate=line.discount_rate,
                    tax_rate=line.tax_rate,
                )
                for line in invoice.lines.order_by("position", "id")
            ],
        )
        payments = list(invoice.payments.order_by("id"))
        for payment in payments:
            payment_delete(payment=payment)
        invoice_void(invoice=invoice)
        invoice_issue(invoice=copy)
        for payment in payments:
            payment_record(
                invoice=copy,
                amount=payment.amount,
                date=payment.date,
                method=payment.method,
                reference=payment.reference,
                by=payment.recorded_by or by,
            )
    return copy
