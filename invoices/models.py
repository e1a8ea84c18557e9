"""Invoices, their lines and the payments taken against them.

Totals are stored (for lists and sums) but only ever written by invoices.services, which computes
them with taxes.calculation. Nothing here knows Xero: the sync keeps its own per-invoice record.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from contacts.models import Contact
from platform_crm.models import Account
from taxes.calculation import TaxMode as CalculationTaxMode
from taxes.models import TaxRate

ZERO = Decimal("0.00")
NUMBER_MAX_LENGTH = 50


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class TaxMode(models.TextChoices):
    # The values are taxes.calculation.TaxMode's, so a stored mode converts with TaxMode(value).
    EXCLUSIVE = CalculationTaxMode.EXCLUSIVE.value, "Tax exclusive"
    INCLUSIVE = CalculationTaxMode.INCLUSIVE.value, "Tax inclusive"
    NO_TAX = CalculationTaxMode.NO_TAX.value, "No tax"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


class EventSource(models.TextChoices):
    CRM = "crm", "In the CRM"
    XERO = "xero", "In Xero"
    SYNC = "sync", "Sync"


class InvoiceNumbering(models.Model):
    """An account's invoice number sequence; locked (select_for_update) while a number is taken."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="invoice_numbering"
    )
    prefix = models.CharField(max_length=20, default="INV-", blank=True)
    next_number = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.account}: next {self.prefix}{self.next_number}"


PRODUCT_CODE_MAX_LENGTH = 30  # Xero's Item Code
PRODUCT_NAME_MAX_LENGTH = 50  # Xero's Item Name


class Product(models.Model):
    """Something the account sells at a set price: an invoice line may start from it (its
    description, price and tax rate), and an integration may keep it in the connected books
    (Xero's Items, by code). Codes are unique per account, whatever their case."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="products")
    code = models.CharField(max_length=PRODUCT_CODE_MAX_LENGTH)
    name = models.CharField(max_length=PRODUCT_NAME_MAX_LENGTH)
    description = models.TextField(blank=True)  # what a line using it says
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The ledger account its sales go to in the connected books ("": the connection's).
    sales_account_code = models.CharField(max_length=10, blank=True)
    # Where it was first made: in the CRM, or in connected books and brought in.
    made_in = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.CRM)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "id"]
        constraints = [
            models.UniqueConstraint(
                "account", Lower("code"), name="product_code_unique_per_account"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Invoice(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invoices")
    # Optional while a draft; invoice_issue requires it.
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, related_name="invoices", null=True, blank=True
    )
    name = models.CharField("title", max_length=255, blank=True)
    number = models.CharField(max_length=NUMBER_MAX_LENGTH)
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    tax_mode = models.CharField(max_length=10, choices=TaxMode.choices, default=TaxMode.EXCLUSIVE)
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    # The sum of the payments, kept by the payment services so lists need no aggregate.
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    # What its credit notes take off what is owed (their totals less what they refund), kept
    # by credit_note_create as Xero keeps AmountCredited.
    amount_credited = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    # Where the invoice was first made: in the CRM, or in connected books and brought in
    # (invoice_record_made_elsewhere), numbered there.
    made_in = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.CRM)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="invoice_number_unique"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0), name="invoice_paid_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-issue_date", "-id"], name="invoice_account_list"),
            models.Index(
                fields=["account", "status", "-issue_date", "-id"], name="invoice_account_status"
            ),
            models.Index(fields=["account", "contact"], name="invoice_account_contact"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_due(self) -> Decimal:
        # A void invoice is owed nothing (Xero shows AmountDue 0 on a voided invoice too).
        if self.status == InvoiceStatus.VOID:
            return ZERO
        return self.total - self.amount_paid - self.amount_credited

    @property
    def is_editable(self) -> bool:
        return self.status not in (InvoiceStatus.VOID, InvoiceStatus.PAID)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    discount_rate = models.DecimalField(  # percent
        max_digits=5, decimal_places=2, default=Decimal(0)
    )
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The product the line started from (None: free text); its own fields may differ.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Written by the service from taxes.calculation: the amount after discount (tax included
    # when the invoice is tax-inclusive) and the line's tax, both to the cent.
    line_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_rate__gte=0, discount_rate__lte=100),
                name="invoice_line_discount_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.description or f"Line {self.position + 1}"


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    date = models.DateField()
    method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.date}"


class InvoiceEvent(models.Model):
    """One line of an invoice's history (invoices.history)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=EventSource.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    what = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["invoice", "-at"], name="invoice_event_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.source}: {self.what}"


class CreditNote(models.Model):
    """Money taken off an invoice, with its reason: `total` is credited; of it, `refund_amount`
    is paid back from money already received, `carried_amount` is set against `carried_to` (a
    credit and reissue's copy), `unallocated_amount` is held unused (a credit note made in
    connected books), and the rest against what the invoice still owes (`amount_allocated`).
    Written only by invoices.services."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=NUMBER_MAX_LENGTH + 10)
    reason = models.CharField(max_length=255)
    date = models.DateField()
    tax_mode = models.CharField(max_length=10, choices=TaxMode.choices)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    total_tax = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    refund_method = models.CharField(
        max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    # Credit and reissue: what was paid on the invoice is carried to its copy as credit.
    carried_to = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credits_carried_in",
    )
    carried_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    # Credit the note still holds, set against nothing yet (Xero's RemainingCredit on a credit
    # note made there); always zero on a credit note raised in the CRM.
    unallocated_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    # Where it was raised: in the CRM, or in connected books and brought in, numbered there.
    made_in = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.CRM)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="credit_note_number_unique"),
            models.CheckConstraint(condition=Q(total__gt=0), name="credit_note_total_positive"),
            models.CheckConstraint(
                condition=Q(
                    refund_amount__gte=0,
                    carried_amount__gte=0,
                    total__gte=models.F("refund_amount") + models.F("carried_amount"),
                ),
                name="credit_note_refund_within_total",
            ),
            models.CheckConstraint(
                condition=Q(
                    unallocated_amount__gte=0,
                    total__gte=models.F("refund_amount")
                    + models.F("carried_amount")
                    + models.F("unallocated_amount"),
                ),
                name="credit_note_unallocated_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_allocated(self) -> Decimal:
        return self.total - self.refund_amount - self.carried_amount - self.unallocated_amount


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    # The invoice line it credits (a credit by amount names none).
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="credits"
    )
    position = models.PositiveIntegerField(default=0)
    description = models.TextField()
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    discount_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    line_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description
