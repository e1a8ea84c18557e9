from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from platform_crm.confirmation import Confirmation, confirmation_page, confirmed
from platform_crm.forms import SearchForm
from platform_crm.models import Account
from platform_crm.tenancy import AccountRequest, account_view
from taxes.calculation import Totals

from .forms import (
    BaseLineFormSet,
    CreditNoteForm,
    InvoiceForm,
    PaymentForm,
    ProductForm,
    ReasonForm,
    line_formset,
)
from .integrations import invoice_integrations, invoice_list_filters
from .models import Invoice, InvoiceStatus, Payment, Product, TaxMode
from .selectors import (
    invoice_credit_notes,
    invoice_credits_carried_in,
    invoice_get,
    invoice_history,
    invoice_lines,
    invoice_list,
    invoice_payments,
    payment_get,
    product_get,
    product_list,
)
from .services import (
    HEADER_FIELDS,
    credit_note_create,
    credit_note_left,
    invoice_create,
    invoice_credit_reissue,
    invoice_issue,
    invoice_reissue,
    invoice_update,
    invoice_void,
    payment_delete,
    payment_record,
    product_create,
    product_update,
)
from .signals import invoice_action_effects
from .totals import totals_for

PAGE_SIZE = 50
HISTORY_SHOWN = 100


@account_view()
def invoice_index(request: AccountRequest, account: Account) -> HttpResponse:
    search_form = SearchForm(request.GET)
    search = request.GET.get("q", "")
    status = request.GET.get("status", "")
    list_filters = invoice_list_filters()
    chosen = {f.param: request.GET.get(f.param, "") for f in list_filters}
    invoices = invoice_list(account, status=status, search=search_form.search(), filters=chosen)
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "search_form": search_form,
        "status": status,
        "statuses": InvoiceStatus.choices,
        # The integrations' filters, each with the value chosen, and the same for the pager.
        "list_filters": [(f, chosen[f.param]) for f in list_filters],
        "filter_query": urlencode(chosen),
        "filtered": any(chosen.values()),
    }
    # Live search and the status filter swap only the results table.
    template = "invoices/_results.html" if request.htmx else "invoices/index.html"
    return render(request, template, context)


@account_view()
def invoice_detail(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    return _detail(request, invoice, PaymentForm(invoice=invoice))


def _detail(request: AccountRequest, invoice: Invoice, payment_form: PaymentForm) -> HttpResponse:
    context = {
        "invoice": invoice,
        "lines": invoice_lines(invoice),
        "payments": invoice_payments(invoice),
        "credit_notes": invoice_credit_notes(invoice),
        "can_credit": _can_credit(invoice),
        "carried_in": invoice_credits_carried_in(invoice),
        # Credit taken on an invoice cannot be voided with it (nor can Xero void it).
        "can_void": invoice.status != InvoiceStatus.VOID and not _credited(invoice),
        # A paid invoice takes a change through a reissue (its edit page is closed).
        "can_reissue": invoice.status in (InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID),
        "history": (history := invoice_history(invoice, HISTORY_SHOWN + 1))[:HISTORY_SHOWN],
        "history_more": len(history) > HISTORY_SHOWN,
        "payment_form": payment_form,
        "can_take_payment": invoice.status in (InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID),
    }
    return render(request, "invoices/detail.html", context)


def _edit(request: AccountRequest, account: Account, invoice: Invoice | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = InvoiceForm(data, instance=invoice, account=account)
    formset = line_formset(account=account, invoice=invoice, data=data)
    if data is not None and form.is_valid() and formset.is_valid():
        header = {name: form.cleaned_data[name] for name in form.fields if name in HEADER_FIELDS}
        try:
            if invoice is None:
                invoice = invoice_create(account=account, lines=formset.lines(), **header)
                messages.success(request, f"Invoice {invoice.number} saved as a draft.")
            else:
                invoice_update(invoice=invoice, lines=formset.lines(), **header)
                messages.success(request, f"Invoice {invoice.number} saved.")
            return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
        except ValidationError as error:
            form.add_error(None, error)
    context = {
        "form": form,
        "formset": formset,
        "invoice": invoice,
        "totals": _preview(form, formset),
    }
    return render(request, "invoices/form.html", context)


def _preview(form: InvoiceForm, formset: BaseLineFormSet) -> Invoice | Totals:
    """Totals of what is on the form now: the valid lines, in the chosen tax mode."""
    if not formset.is_bound:
        if form.instance.pk:
            return form.instance
        return totals_for(tax_mode=TaxMode.EXCLUSIVE, lines=[])
    mode = form.data.get("tax_mode")
    if mode not in TaxMode.values:
        mode = TaxMode.EXCLUSIVE
    return totals_for(tax_mode=mode, lines=formset.lines(), currency=form.data.get("currency", ""))


@account_view()
def invoice_new(request: AccountRequest, account: Account) -> HttpResponse:
    return _edit(request, account, None)


@account_view()
def invoice_edit(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    if not invoice.is_editable:
        messages.error(
            request,
            f"This invoice is {invoice.get_status_display().lower()}; it can no longer be edited.",
        )
        return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    return _edit(request, account, invoice)


@account_view()
@require_POST
def invoice_totals(request: AccountRequest, account: Account) -> HttpResponse:
    """The totals block of the invoice form, recomputed as lines are typed (htmx)."""
    form = InvoiceForm(request.POST, account=account)
    formset = line_formset(account=account, invoice=None, data=request.POST, preview=True)
    return render(request, "invoices/_totals.html", {"totals": _preview(form, formset)})


def _act(
    request: AccountRequest,
    account: Account,
    invoice: Invoice,
    service: Callable[..., Invoice],
    done: str,
) -> HttpResponse:
    try:
        service(invoice=invoice)
        messages.success(request, done.format(number=invoice.number))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)


@account_view()
@require_POST
def invoice_issue_view(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    return _act(
        request, account, invoice_get(account, pk), invoice_issue, "Invoice {number} issued."
    )


def _confirmation(
    action: str, invoice: Invoice, payment: Payment | None = None, **fields: Any
) -> Confirmation:
    """The confirmation of `action`, with what connected systems say it will do on their side
    (invoice_action_effects) and Cancel back to the invoice."""
    return Confirmation(
        cancel_url=reverse("invoices:detail", args=[invoice.account.slug, invoice.pk]),
        elsewhere=_elsewhere(action, invoice, payment),
        **fields,
    )


def _elsewhere(
    action: str, invoice: Invoice, payment: Payment | None = None
) -> list[tuple[str, list[str]]]:
    """What connected systems say `action` will do on their side: (where, [sentences])."""
    # Receivers answer (where, [sentences]) or None (django-stubs types answers as str | None).
    answers = cast(
        list[tuple[object, tuple[str, list[str]] | None]],
        invoice_action_effects.send(
            sender=Invoice, action=action, invoice=invoice, payment=payment
        ),
    )
    return [answer for _, answer in answers if answer]


def _money(amount: Decimal, invoice: Invoice) -> str:
    return f"{amount} {invoice.currency}"


CREDITED_NOT_VOIDED = (
    "This invoice has credit notes against it (credit taken on it stays on the books), so it "
    "can no longer be voided."
)


def _credited(invoice: Invoice) -> bool:
    return invoice.credit_notes.exists() or invoice.credits_carried_in.exists()


def _void_confirmation(invoice: Invoice) -> Confirmation:
    if invoice.status == InvoiceStatus.DRAFT:
        here = [
            f"Draft {invoice.number} becomes void: it stays in the invoice list, marked Void, "
            "and can no longer be edited or issued."
        ]
    else:
        here = [
            f"Invoice {invoice.number} ({_money(invoice.total, invoice)}) becomes void: "
            f"nothing is owed on it any more (today {_money(invoice.amount_due, invoice)}).",
            "It stays in the invoice list, marked Void, and can no longer be edited or take "
            "payments. To bill the customer again, write a new invoice.",
        ]
    blocked = ""
    if invoice.status == InvoiceStatus.VOID:
        blocked = "This invoice is already void."
    elif _credited(invoice):
        blocked = CREDITED_NOT_VOIDED
    elif invoice.payments.exists():
        blocked = (
            "This invoice has payments recorded against it. Delete its payments first, then "
            "void it, or use Void and reissue to move them to a corrected copy."
        )
    return _confirmation(
        "void",
        invoice,
        title=f"Void invoice {invoice.number}?",
        question=f"Void invoice {invoice.number} for "
        f"{invoice.contact.display_name if invoice.contact else 'no contact yet'}? "
        "This cannot be undone.",
        button=f"Void {invoice.number}",
        here=here,
        blocked=blocked,
    )


@account_view()
@require_http_methods(["GET", "POST"])
def invoice_void_view(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    if not confirmed(request):
        return confirmation_page(request, _void_confirmation(invoice))
    return _act(request, account, invoice, invoice_void, "Invoice {number} voided.")


def _reissue_confirmation(invoice: Invoice) -> Confirmation:
    payments = list(invoice.payments.order_by("id"))
    here = [
        f"Invoice {invoice.number} becomes void and stays in the list, marked Void, for the "
        "record.",
        "A copy is issued at once under a new number: the same contact, title, dates and "
        f"lines as {invoice.number} has now in the CRM "
        f"(total {_money(invoice.total, invoice)}).",
    ]
    if payments:
        paid = sum((p.amount for p in payments), Decimal(0))
        here.append(
            f"Its {len(payments)} payment{'s' if len(payments) != 1 else ''} "
            f"({_money(paid, invoice)}) move to the copy, with their dates and references."
        )
    blocked = ""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        blocked = "Only an issued invoice can be voided and reissued."
    elif _credited(invoice):
        blocked = CREDITED_NOT_VOIDED + " Use Credit and reissue instead."
    return _confirmation(
        "reissue",
        invoice,
        title=f"Void and reissue invoice {invoice.number}?",
        question=f"Void invoice {invoice.number} and issue a corrected copy under a new number? "
        "This cannot be undone.",
        button=f"Void {invoice.number} and reissue it",
        here=here,
        blocked=blocked,
    )


@account_view()
@require_http_methods(["GET", "POST"])
def invoice_reissue_view(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    if not confirmed(request):
        return confirmation_page(request, _reissue_confirmation(invoice))
    try:
        copy = invoice_reissue(invoice=invoice, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    messages.success(
        request, f"Invoice {invoice.number} voided and reissued as {copy.number}, payments moved."
    )
    return redirect("invoices:detail", account_slug=account.slug, pk=copy.pk)


@account_view()
@require_POST
def payment_new(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    form = PaymentForm(request.POST, invoice=invoice)
    if form.is_valid():
        try:
            payment = payment_record(invoice=invoice, by=request.user, **form.cleaned_data)
            messages.success(request, f"Payment of {payment.amount} {invoice.currency} recorded.")
            return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
        except ValidationError as error:
            form.add_error(None, error)
    return _detail(request, invoice, form)


def _payment_delete_confirmation(payment: Payment) -> Confirmation:
    invoice = payment.invoice
    due_after = invoice.amount_due + payment.amount
    what = f"{_money(payment.amount, invoice)} on {payment.date:%-d %b %Y}"
    reference = f" (reference {payment.reference})" if payment.reference else ""
    return _confirmation(
        "payment_delete",
        invoice,
        payment,
        title=f"Delete the payment of {_money(payment.amount, invoice)}?",
        question=f"Delete the payment of {what}{reference} from invoice {invoice.number}? "
        "Do this only if the money was not received, or was recorded by mistake.",
        button="Delete the payment",
        here=[
            f"The payment of {what} is deleted from invoice {invoice.number}.",
            f"{invoice.number} is then owed {_money(due_after, invoice)} again.",
        ],
    )


@account_view()
@require_http_methods(["GET", "POST"])
def payment_delete_view(request: AccountRequest, account: Account, payment_pk: int) -> HttpResponse:
    payment = payment_get(account, payment_pk)
    if not confirmed(request):
        return confirmation_page(request, _payment_delete_confirmation(payment))
    invoice = payment_delete(payment=payment)
    messages.success(request, f"Payment of {payment.amount} {invoice.currency} deleted.")
    return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)


def _can_credit(invoice: Invoice) -> bool:
    return invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID) and (
        credit_note_left(invoice)["credit"] > 0
    )


@account_view()
@require_http_methods(["GET", "POST"])
def credit_note_new(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    if not _can_credit(invoice):
        messages.error(request, f"Invoice {invoice.number} has nothing left to credit.")
        return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    left = credit_note_left(invoice)
    data = request.POST if request.method == "POST" else None
    form = CreditNoteForm(data, invoice=invoice, left=left)
    if data is not None and form.is_valid():
        try:
            note = credit_note_create(invoice=invoice, by=request.user, **form.credit())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            refunded = (
                f", {_money(note.refund_amount, invoice)} of it refunded"
                if note.refund_amount
                else ""
            )
            messages.success(
                request, f"Credit note {note.number} for {_money(note.total, invoice)}{refunded}."
            )
            return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    context = {
        "invoice": invoice,
        "form": form,
        "left": left,
        "elsewhere": _elsewhere("credit", invoice),
    }
    return render(request, "invoices/credit_note_form.html", context)


def _credit_reissue_confirmation(invoice: Invoice, form: ReasonForm) -> Confirmation:
    left = credit_note_left(invoice)
    here = [
        f"Invoice {invoice.number} stays as it is, with its payments. A credit note cancels "
        f"what is left of it ({_money(left['credit'], invoice)}), so it owes nothing.",
        "A draft copy is written under a new number with what it still bills, for you to "
        "change and then issue.",
    ]
    if left["refund"]:
        here.append(
            f"What was paid on {invoice.number} ({_money(left['refund'], invoice)}) is carried "
            "to the copy as credit: the customer is not asked to pay it twice."
        )
    here.append(
        "Use this rather than Void and reissue when the original must stay in the books as it "
        "was sent, with its payments where they are."
    )
    blocked = ""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        blocked = "Only an issued invoice can be credited and reissued."
    elif left["credit"] <= 0:
        blocked = "Nothing is left to credit on this invoice."
    return _confirmation(
        "credit_reissue",
        invoice,
        title=f"Credit and reissue invoice {invoice.number}?",
        question=f"Credit invoice {invoice.number} in full and write a copy to change? "
        "This cannot be undone.",
        button=f"Credit {invoice.number} and write the copy",
        here=here,
        blocked=blocked,
        form=form,
    )


@account_view()
@require_http_methods(["GET", "POST"])
def invoice_credit_reissue_view(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    invoice = invoice_get(account, pk)
    form = ReasonForm(request.POST if confirmed(request) else None)
    if not form.is_valid():
        return confirmation_page(request, _credit_reissue_confirmation(invoice, form))
    try:
        copy = invoice_credit_reissue(
            invoice=invoice, reason=form.cleaned_data["reason"], by=request.user
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    messages.success(
        request,
        f"Invoice {invoice.number} credited; {copy.number} is its copy, a draft: change it, "
        "then issue it.",
    )
    return redirect("invoices:detail", account_slug=account.slug, pk=copy.pk)


# --- products ------------------------------------------------------------------------------------
@account_view()
def product_index(request: AccountRequest, account: Account) -> HttpResponse:
    search_form = SearchForm(request.GET)
    products = product_list(account, search=search_form.search())
    integrations = invoice_integrations()
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": request.GET.get("q", ""),
        "search_form": search_form,
        # What integrations add to the list (a refresh from the connected books, say).
        "panels": [i.products_panel_template for i in integrations if i.products_panel_template],
        "columns": [i for i in integrations if i.products_heading],
    }
    return render(request, "invoices/products.html", context)


def _product_edit(
    request: AccountRequest, account: Account, product: Product | None
) -> HttpResponse:
    form = ProductForm(request.POST or None, instance=product, account=account)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.fields}
        try:
            if product is None:
                product = product_create(account=account, **fields)
                messages.success(request, f"Product {product.code} saved.")
            else:
                product_update(product=product, **fields)
                messages.success(request, f"Product {product.code} saved.")
            return redirect("invoices:products", account_slug=account.slug)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
    return render(request, "invoices/product_form.html", {"form": form, "product": product})


@account_view()
def product_new(request: AccountRequest, account: Account) -> HttpResponse:
    return _product_edit(request, account, None)


@account_view()
def product_edit(request: AccountRequest, account: Account, product_pk: int) -> HttpResponse:
    return _product_edit(request, account, product_get(account, product_pk))
