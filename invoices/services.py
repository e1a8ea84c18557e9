"""Writes for invoices and payments. Every change recomputes totals with taxes.calculation and
sends invoices.signals.invoice_changed inside its transaction."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from contacts.models import Contact
from platform_crm.models import Account
from taxes.models import TaxRate

from .currencies import currency_places
from .history import change_record, invoice_event_record
from .models import (
    NUMBER_MAX_LENGTH,
    ZERO,
    CreditNote,
    CreditNoteLine,
    EventSource,
    Invoice,
    InvoiceLine,
    InvoiceNumbering,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Product,
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
    product: Product | None = None  # the product the line started from; None: free text


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


def _send(
    invoice: Invoice,
    change: str,
    payment: Payment | None = None,
    credit_note: CreditNote | None = None,
) -> None:
    change_record(invoice, change, payment, credit_note)
    invoice_changed.send(
        sender=Invoice, invoice=invoice, change=change, payment=payment, credit_note=credit_note
    )


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
    if line.product is not None and line.product.account_id != invoice.account_id:
        raise ValidationError(f"{where}: choose a product of this account.")
    if Decimal(line.quantity) < 0:
        raise ValidationError(f"{where}: the quantity cannot be negative.")
    if not Decimal(0) <= Decimal(line.discount_rate) <= Decimal(100):
        raise ValidationError(f"{where}: the discount is a percentage from 0 to 100.")


def _totals_apply(invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    """Set each line's amounts and the invoice's totals from taxes.calculation; refused when
    they would not fit their columns."""
    totals = totals_for(tax_mode=invoice.tax_mode, lines=lines, currency=invoice.currency)
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
    """Paid once payments and credit notes together settle the total (as Xero marks it PAID
    when AmountDue reaches 0)."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return invoice.status
    settled = invoice.amount_paid + invoice.amount_credited
    if settled > 0 and settled >= invoice.total:
        return InvoiceStatus.PAID
    if settled > 0:
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
        row.product = data.product
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
        if invoice.total < invoice.amount_paid + invoice.amount_credited:
            raise ValidationError(
                f"The new total ({invoice.total}) is less than what has been paid "
                f"({invoice.amount_paid}) and credited ({invoice.amount_credited}). "
                "Delete a payment first."
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
        _whole_cents(amount, "amount", "amount", invoice.currency)
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
        if invoice.credit_notes.exists() or invoice.credits_carried_in.exists():
            raise ValidationError(
                "This invoice has credit notes against it, so it can no longer be voided. "
                "Credit what is left of it instead."
            )
        invoice.status = InvoiceStatus.VOID
        invoice.save(update_fields=["status", "updated_at"])
        _send(invoice, "voided")
    return invoice


def _copy_issued_later(invoice: Invoice, quantities: dict[int, Decimal] | None = None) -> Invoice:
    """A draft copy of the invoice as it stands, under the next number (issued by the caller);
    with `quantities` ({line id: quantity}), only those lines, in those quantities."""
    lines = invoice.lines.order_by("position", "id")
    if quantities is not None:
        lines = lines.filter(pk__in=quantities)
    return invoice_create(
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
                quantity=line.quantity if quantities is None else quantities[line.pk],
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
                product=line.product,
            )
            for line in lines
        ],
    )


def invoice_reissue(*, invoice: Invoice, by: User | None = None) -> Invoice:
    """Void an issued invoice and issue a copy as it stands now, under a new number, with its
    payments moved across: how an invoice whose books can no longer change (a payment applied
    in Xero, say) takes an edit. Nothing is lost: the copy has the same contact, lines and
    payments, and the original stays, void, for the record."""
    with transaction.atomic():
        _lock(invoice)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError("Only an issued invoice can be voided and reissued.")
        if invoice.credit_notes.exists() or invoice.credits_carried_in.exists():
            raise ValidationError(
                "This invoice has credit notes against it, so it cannot be voided. "
                "Use Credit and reissue instead."
            )
        copy = _copy_issued_later(invoice)
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


# --- credit notes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CreditLineInput:
    """Part (or all) of one invoice line to credit."""

    line: InvoiceLine
    quantity: Decimal


def credit_note_number(invoice: Invoice) -> str:
    """The invoice's number with the credit note's place among its credit notes (INV-0007-CN2):
    unique wherever the invoice's number is, and it says what it credits."""
    return f"{invoice.number}-CN{invoice.credit_notes.count() + 1}"


def _whole_cents(amount: Decimal, field: str, what: str, currency: str = "") -> Decimal:
    """The amount, refused when finer than the currency's smallest unit (a cent; a yen)."""
    amount = Decimal(amount)
    places = currency_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        unit = "cents" if places else f"whole {currency}"
        raise ValidationError({field: f"Give the {what} in {unit}."})
    return amount


def _credit_lines_by_line(invoice: Invoice, lines: Sequence[CreditLineInput]) -> list[Any]:
    rows = []
    credited = dict(
        CreditNoteLine.objects.filter(credit_note__invoice=invoice, invoice_line__isnull=False)
        .values("invoice_line")
        .annotate(q=Sum("quantity"))
        .values_list("invoice_line", "q")
    )
    for n, wanted in enumerate(lines):
        line = wanted.line
        if line.invoice_id != invoice.pk:
            raise ValidationError("A line being credited is not on this invoice.")
        quantity = Decimal(wanted.quantity)
        left = line.quantity - credited.get(line.pk, Decimal(0))
        if quantity <= 0:
            raise ValidationError(f"“{line}”: credit a quantity of more than zero.")
        if quantity > left:
            raise ValidationError(
                f"“{line}”: at most {left.normalize():f} of its {line.quantity.normalize():f} "
                "can still be credited."
            )
        rows.append(
            CreditNoteLine(
                invoice_line=line,
                position=n,
                description=line.description or f"Line {line.position + 1}",
                quantity=quantity,
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
            )
        )
    return rows


def _credit_line_by_amount(invoice: Invoice, amount: Decimal, reason: str) -> CreditNoteLine:
    """One line of `amount`, tax included, at the invoice's one tax rate (a credit of an amount
    is the amount the customer gets back, tax and all)."""
    amount = _whole_cents(amount, "amount", "amount", invoice.currency)
    if amount <= 0:
        raise ValidationError({"amount": "Credit an amount of more than zero."})
    rates = {line.tax_rate_id for line in invoice.lines.all()}
    if invoice.tax_mode != TaxMode.NO_TAX and len(rates) > 1:
        raise ValidationError(
            {
                "amount": "This invoice's lines are taxed at different rates, so an amount "
                "alone does not say how much tax to credit. Credit it by line instead."
            }
        )
    tax_rate = None
    if invoice.tax_mode != TaxMode.NO_TAX and rates:
        tax_rate = invoice.lines.first().tax_rate  # type: ignore[union-attr]
    return CreditNoteLine(
        position=0,
        description=f"Credit: {reason}",
        quantity=Decimal(1),
        unit_price=amount,
        tax_rate=tax_rate,
    )


def credit_note_left(invoice: Invoice) -> dict[str, Decimal]:
    """What is left to credit on the invoice, and of it how much can be refunded (money paid
    and not yet refunded) and how much set against what is still owed."""
    done = invoice.credit_notes.aggregate(total=Sum("total"), refunded=Sum("refund_amount"))
    return {
        "credit": invoice.total - (done["total"] or ZERO),
        "refund": invoice.amount_paid - (done["refunded"] or ZERO),
        "due": invoice.amount_due,
    }


def credit_note_create(
    *,
    invoice: Invoice,
    reason: str,
    lines: Sequence[CreditLineInput] = (),
    amount: Decimal | None = None,
    refund: Decimal = ZERO,
    refund_method: str = PaymentMethod.BANK_TRANSFER,
    date: datetime.date | None = None,
    by: User | None = None,
    carry_to: Invoice | None = None,
    carry: Decimal = ZERO,
) -> CreditNote:
    """Credit part or all of an issued invoice, by line (`lines`) or by an `amount`, for a
    reason. Of the credit, `refund` is paid back from money received; the rest comes off what
    is still owed. Never more than is left to credit, to refund, or owed."""
    reason = reason.strip()
    with transaction.atomic():
        _lock(invoice)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError("Only an issued invoice can be credited.")
        if not reason:
            raise ValidationError({"reason": "Say why the invoice is credited."})
        if bool(lines) == (amount is not None):
            raise ValidationError("Credit either some lines or an amount.")
        if lines:
            rows = _credit_lines_by_line(invoice, lines)
            tax_mode = invoice.tax_mode
        else:
            rows = [_credit_line_by_amount(invoice, Decimal(amount or 0), reason)]
            tax_mode = TaxMode.NO_TAX if invoice.tax_mode == TaxMode.NO_TAX else TaxMode.INCLUSIVE
        totals = totals_for(tax_mode=tax_mode, lines=rows, currency=invoice.currency)
        refund = _whole_cents(refund, "refund", "refund", invoice.currency)
        left = credit_note_left(invoice)
        currency = invoice.currency
        if totals.total <= 0:
            raise ValidationError("The credit comes to nothing; credit more.")
        if totals.total > left["credit"]:
            raise ValidationError(
                f"This credits {totals.total} {currency}, more than is left to credit on "
                f"{invoice.number} ({left['credit']} {currency})."
            )
        if refund < 0 or refund > totals.total:
            raise ValidationError({"refund": "The refund is part of the credit: from zero to it."})
        if refund > left["refund"]:
            raise ValidationError(
                {
                    "refund": f"Only {left['refund']} {currency} has been paid and not refunded; "
                    "a refund cannot be more."
                }
            )
        if carry and (carry_to is None or carry > left["refund"] - refund):
            raise ValidationError("Only money paid and not refunded can be carried over.")
        if totals.total - refund - carry > left["due"]:
            need = totals.total - left["due"]
            raise ValidationError(
                {
                    "refund": f"Only {left['due']} {currency} is still owed, so at least {need} "
                    f"{currency} of this credit must be refunded from what was paid."
                }
            )
        if refund_method not in PaymentMethod.values:
            raise ValidationError({"refund_method": "Choose how the refund is paid."})
        note = CreditNote.objects.create(
            invoice=invoice,
            number=credit_note_number(invoice),
            reason=reason[:255],
            date=date or timezone.localdate(),
            tax_mode=tax_mode,
            subtotal=totals.subtotal,
            total_tax=totals.total_tax,
            total=totals.total,
            refund_amount=refund,
            refund_method=refund_method,
            carried_to=carry_to if carry else None,
            carried_amount=carry,
            created_by=by,
        )
        for row, result in zip(rows, totals.lines, strict=True):
            row.credit_note = note
            row.line_amount, row.tax_amount = result.line_amount, result.tax_amount
        CreditNoteLine.objects.bulk_create(rows)
        invoice.amount_credited += note.amount_allocated
        invoice.status = _status_from_payments(invoice)
        invoice.save(update_fields=["amount_credited", "status", "updated_at"])
        _send(invoice, "credited", credit_note=note)
    return note


def _remaining_lines(invoice: Invoice) -> list[CreditLineInput]:
    """Each line's quantity not yet credited (lines credited in full are left out)."""
    if invoice.credit_notes.filter(lines__invoice_line__isnull=True).exists():
        raise ValidationError(
            "This invoice was credited by an amount before, so what is left of each line is "
            "not known. Credit what is left by amount, then write a new invoice."
        )
    credited = dict(
        CreditNoteLine.objects.filter(credit_note__invoice=invoice)
        .values("invoice_line")
        .annotate(q=Sum("quantity"))
        .values_list("invoice_line", "q")
    )
    remaining = [
        CreditLineInput(line=line, quantity=line.quantity - credited.get(line.pk, Decimal(0)))
        for line in invoice.lines.order_by("position", "id")
    ]
    return [r for r in remaining if r.quantity > 0]


def invoice_credit_reissue(*, invoice: Invoice, reason: str, by: User | None = None) -> Invoice:
    """Credit what is left of an issued invoice and write a draft copy of what it still bills,
    with what was paid on it (and not refunded) carried to the copy as credit: how an invoice
    whose books cannot be voided (its payments stay where they are) takes a change. The
    original stays, settled by the credit note, with its payments; the copy is edited, then
    issued. Returns the copy."""
    reason = reason.strip()
    with transaction.atomic():
        _lock(invoice)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError("Only an issued invoice can be credited and reissued.")
        if not reason:
            raise ValidationError({"reason": "Say why the invoice is credited and reissued."})
        remaining = _remaining_lines(invoice)
        left = credit_note_left(invoice)
        if not remaining or left["credit"] <= 0:
            raise ValidationError("Nothing is left to credit on this invoice.")
        copy = _copy_issued_later(invoice, {r.line.pk: r.quantity for r in remaining})
        carried = left["refund"]  # paid and not refunded: it moves to the copy
        if carried > copy.total:
            raise ValidationError(
                f"More has been paid ({carried} {invoice.currency}) than the copy would bill "
                f"({copy.total} {invoice.currency}); refund the difference first."
            )
        note = credit_note_create(
            invoice=invoice,
            reason=f"Credited and reissued as {copy.number}: {reason}",
            lines=remaining,
            refund=ZERO,
            by=by,
            carry_to=copy,
            carry=carried,
        )
        invoice_event_record(copy, f"Reissued from {invoice.number} ({note.number})")
        if carried:
            copy.amount_credited += carried
            copy.save(update_fields=["amount_credited", "updated_at"])
            invoice_event_record(
                copy, f"{carried} {invoice.currency} paid on {invoice.number} carried over"
            )
    return copy


# --- credit notes raised elsewhere (connected books) --------------------------------------------
def _credit_settlement_check(
    invoice: Invoice, *, number: str, total: Decimal, allocated: Decimal, refunded: Decimal
) -> None:
    """What a credit note made elsewhere says it sets against the invoice and refunds must fit
    its total and what the invoice owes (`allocated` is the increase on what it owes now)."""
    currency = invoice.currency
    if allocated < 0 or refunded < 0:
        raise ValidationError(f"Credit note {number} sets a negative amount against the invoice.")
    if allocated + refunded > total:
        raise ValidationError(
            f"Credit note {number} sets {allocated} {currency} against invoice "
            f"{invoice.number} and refunds {refunded} {currency}: more than its total of "
            f"{total} {currency}."
        )


def credit_note_record_made_elsewhere(
    *,
    invoice: Invoice,
    number: str,
    reason: str,
    date: datetime.date,
    tax_mode: str,
    lines: Sequence[LineInput],
    allocated: Decimal,
    refunded: Decimal,
    made_in: str,
) -> CreditNote:
    """A credit note raised in connected books, recorded as it is there: its lines; of its
    total, `allocated` set against the invoice, `refunded` paid back, and the rest held unused.
    Refused (ValidationError) when the invoice could not take it."""
    with transaction.atomic():
        _lock(invoice)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            raise ValidationError(
                f"Credit note {number} is set against invoice {invoice.number}, which is "
                f"{invoice.get_status_display().lower()} in the CRM."
            )
        if invoice.credit_notes.filter(number__iexact=number).exists():
            raise ValidationError(
                f"Invoice {invoice.number} already has a credit note numbered {number}."
            )
        rows = [
            CreditNoteLine(
                position=n,
                description=line.description.strip() or f"Line {n + 1}",
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
            )
            for n, line in enumerate(lines)
        ]
        totals = totals_for(tax_mode=tax_mode, lines=rows)
        too_large = totals_too_large(totals)
        if too_large:
            raise ValidationError(too_large)
        if totals.total <= 0:
            raise ValidationError(f"Credit note {number} comes to {totals.total}.")
        _credit_settlement_check(
            invoice, number=number, total=totals.total, allocated=allocated, refunded=refunded
        )
        if allocated > invoice.amount_due:
            raise ValidationError(
                f"Credit note {number} sets {allocated} {invoice.currency} against invoice "
                f"{invoice.number}, which owes {invoice.amount_due} {invoice.currency} in the CRM."
            )
        note = CreditNote.objects.create(
            invoice=invoice,
            number=number,
            reason=reason.strip()[:255] or "No reason given",
            date=date,
            tax_mode=tax_mode,
            subtotal=totals.subtotal,
            total_tax=totals.total_tax,
            total=totals.total,
            refund_amount=refunded,
            unallocated_amount=totals.total - allocated - refunded,
            made_in=made_in,
        )
        for row, result in zip(rows, totals.lines, strict=True):
            row.credit_note = note
            row.line_amount, row.tax_amount = result.line_amount, result.tax_amount
        CreditNoteLine.objects.bulk_create(rows)
        invoice.amount_credited += allocated
        invoice.status = _status_from_payments(invoice)
        invoice.save(update_fields=["amount_credited", "status", "updated_at"])
        _send(invoice, "credited", credit_note=note)
    return note


def credit_note_settle_made_elsewhere(
    *, note: CreditNote, allocated: Decimal, refunded: Decimal
) -> bool:
    """A credit note made elsewhere whose allocation to its invoice or refunds changed there:
    the invoice's credit follows. True when something changed."""
    with transaction.atomic():
        invoice = _lock(note.invoice)
        note.refresh_from_db()
        if note.made_in == EventSource.CRM:
            raise ValidationError(f"Credit note {note.number} was raised in the CRM.")
        if (note.amount_allocated, note.refund_amount) == (allocated, refunded):
            return False
        _credit_settlement_check(
            invoice, number=note.number, total=note.total, allocated=allocated, refunded=refunded
        )
        more = allocated - note.amount_allocated
        if more > invoice.amount_due:
            raise ValidationError(
                f"Credit note {note.number} now sets {allocated} {invoice.currency} against "
                f"invoice {invoice.number}, which owes {invoice.amount_due} {invoice.currency} "
                "more in the CRM."
            )
        note.refund_amount = refunded
        note.unallocated_amount = note.total - note.carried_amount - allocated - refunded
        note.save(update_fields=["refund_amount", "unallocated_amount"])
        invoice.amount_credited += more
        invoice.status = _status_from_payments(invoice)
        invoice.save(update_fields=["amount_credited", "status", "updated_at"])
        _send(invoice, "credit_settled", credit_note=note)
    return True


def credit_note_withdraw_made_elsewhere(*, note: CreditNote) -> Invoice:
    """A credit note made elsewhere and voided there: what it set against the invoice is owed
    again, the history says so, and the credit note is gone from the invoice."""
    with transaction.atomic():
        invoice = _lock(note.invoice)
        note.refresh_from_db()
        if note.made_in == EventSource.CRM:
            raise ValidationError(f"Credit note {note.number} was raised in the CRM.")
        invoice.amount_credited -= note.amount_allocated
        invoice.status = _status_from_payments(invoice)
        invoice.save(update_fields=["amount_credited", "status", "updated_at"])
        _send(invoice, "credit_withdrawn", credit_note=note)
        note.delete()
    return invoice


# --- products ------------------------------------------------------------------------------------
PRODUCT_FIELDS = ("code", "name", "description", "unit_price", "tax_rate", "sales_account_code")


def _product_check(product: Product) -> None:
    errors = {}
    product.code = product.code.strip()
    product.name = product.name.strip() or product.code
    if not product.code:
        errors["code"] = "Give the product a code."
    elif (
        Product.objects.filter(account_id=product.account_id, code__iexact=product.code)
        .exclude(pk=product.pk)
        .exists()
    ):
        errors["code"] = f"Another product already has the code {product.code}."
    if product.tax_rate is not None and product.tax_rate.account_id != product.account_id:
        errors["tax_rate"] = "Choose a tax rate of this account."
    if Decimal(product.unit_price) < 0:
        errors["unit_price"] = "The price cannot be negative."
    if errors:
        raise ValidationError(errors)


def product_create(*, account: Account, made_in: str = EventSource.CRM, **fields: Any) -> Product:
    """A product of the account (any of PRODUCT_FIELDS); its code unique in the account."""
    product = Product(account=account, made_in=made_in, **_product_fields(fields))
    _product_save(product)
    return product


def product_update(*, product: Product, **fields: Any) -> Product:
    for name, value in _product_fields(fields).items():
        setattr(product, name, value)
    _product_save(product)
    return product


def _product_save(product: Product) -> None:
    """Checked, then saved; the same code saved at the same moment by someone else is refused
    by the database's constraint, and said in the same words."""
    _product_check(product)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as clash:
        if "product_code_unique_per_account" not in str(clash):
            raise
        raise ValidationError(
            {"code": f"Another product already has the code {product.code}."}
        ) from clash


def _product_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"not a product field: {', '.join(sorted(unknown))}")
    return fields
