from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from contacts.models import Contact
from platform_crm.models import Account
from taxes.models import TaxRate

from .integrations import invoice_integrations, invoice_list_filters
from .models import (
    CreditNote,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Product,
)
from .signals import invoice_number_fixed


def invoice_list(
    account: Account,
    *,
    status: str = "",
    search: str = "",
    filters: Mapping[str, str] | None = None,
) -> QuerySet[Invoice]:
    """`filters`: {query parameter: value} for the list filters integrations registered."""
    invoices = Invoice.objects.filter(account=account).select_related("contact")
    for integration in invoice_integrations():
        invoices = invoices.select_related(*integration.list_related)
    if status in InvoiceStatus.values:
        invoices = invoices.filter(status=status)
    for list_filter in invoice_list_filters():
        value = (filters or {}).get(list_filter.param, "")
        if value in dict(list_filter.choices):
            invoices = list_filter.apply(invoices, value)
    search = search.strip()
    if search:
        invoices = invoices.filter(
            Q(number__icontains=search)
            | Q(name__icontains=search)
            | Q(contact__first_name__icontains=search)
            | Q(contact__last_name__icontains=search)
            | Q(contact__company_name__icontains=search)
            | Q(contact__email__icontains=search)
        )
    return invoices


def invoice_get(account: Account, pk: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("account", "contact"), account=account, pk=pk
    )


def invoice_lines(invoice: Invoice) -> QuerySet[InvoiceLine]:
    return invoice.lines.select_related("tax_rate").prefetch_related("tax_rate__components")


def invoice_history(invoice: Invoice, limit: int = 100) -> list[InvoiceEvent]:
    return list(invoice.events.select_related("by")[:limit])


def invoice_payments(invoice: Invoice) -> QuerySet[Payment]:
    return invoice.payments.select_related("recorded_by")


def invoice_credit_notes(invoice: Invoice) -> QuerySet[CreditNote]:
    return invoice.credit_notes.select_related("created_by")


def invoice_credits_carried_in(invoice: Invoice) -> list[CreditNote]:
    """Credit notes of other invoices carrying what was paid on them to this one."""
    return list(invoice.credits_carried_in.select_related("invoice"))


def payment_get(account: Account, pk: int) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("invoice"), invoice__account=account, pk=pk
    )


def contact_choices(account: Account, *, keep: Contact | None = None) -> QuerySet[Contact]:
    """Contacts an invoice of `account` may be for: active ones, plus the one it already has."""
    match = Q(is_archived=False)
    if keep is not None:
        match |= Q(pk=keep.pk)
    return Contact.objects.filter(match, account=account)


def tax_rate_choices(account: Account, *, keep_for: Invoice | None = None) -> QuerySet[TaxRate]:
    """Active rates of `account`, plus those `keep_for`'s lines already use."""
    match = Q(is_active=True)
    if keep_for is not None:
        match |= Q(pk__in=keep_for.lines.exclude(tax_rate=None).values("tax_rate"))
    return TaxRate.objects.filter(match, account=account).prefetch_related("components")


def invoice_number_fixed_reason(invoice: Invoice) -> str:
    """Why the invoice's number can no longer change (known by it in the connected books), in
    plain words; "" while it can."""
    for _, why in invoice_number_fixed.send(sender=Invoice, invoice=invoice):
        if why:
            return why
    return ""


def product_list(account: Account, *, search: str = "") -> QuerySet[Product]:
    products = Product.objects.filter(account=account).select_related("tax_rate")
    for integration in invoice_integrations():
        products = products.prefetch_related(*integration.products_prefetch)
    search = search.strip()
    if search:
        products = products.filter(Q(code__icontains=search) | Q(name__icontains=search))
    return products


def product_get(account: Account, pk: int) -> Product:
    return get_object_or_404(Product.objects.select_related("tax_rate"), account=account, pk=pk)


def product_choices(account: Account) -> QuerySet[Product]:
    """The products a line may use: the account's."""
    return Product.objects.filter(account=account).select_related("tax_rate")
