from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.http import QueryDict
from django.utils import timezone

from contacts.models import Contact
from contacts.widgets import ContactPicker
from platform_crm.forms import FiniteDecimalField
from platform_crm.models import Account
from platform_crm.templatetags.formatting import decimal_text
from taxes.calculation import Line, line_amount
from taxes.models import TaxRate

from .integrations import invoice_currency_choices
from .models import Invoice, InvoiceLine, PaymentMethod, Product
from .selectors import (
    contact_choices,
    invoice_number_fixed_reason,
    product_choices,
    tax_rate_choices,
)
from .services import CreditLineInput, LineInput
from .totals import LINE_AMOUNT_MAX, TOTAL_MAX

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InvoiceForm(forms.ModelForm[Invoice]):
    class Meta:
        model = Invoice
        fields = ["number", "contact", "name", "issue_date", "due_date", "currency", "tax_mode"]
        widgets = {"issue_date": DATE_WIDGET, "due_date": DATE_WIDGET}
        help_texts = {
            "due_date": "Needed before the invoice can be issued.",
            "currency": "Three letters, e.g. NZD.",
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        keep = self.instance.contact if self.instance.pk else None
        # Another account's contact id is not a choice: the form refuses it.
        contact_field = cast("forms.ModelChoiceField[Contact]", self.fields["contact"])
        contact_field.queryset = contact_choices(account, keep=keep)
        # Search as you type, not a dropdown of every contact; the queryset still decides.
        self.fields["contact"].widget = ContactPicker(account=account)
        self.fields["contact"].help_text = "Needed before the invoice can be issued."
        if not self.instance.pk:
            self.initial.setdefault("currency", account.currency)
            self.initial.setdefault("issue_date", timezone.localdate())
            del self.fields["number"]  # the next free number is given on saving
        elif fixed := invoice_number_fixed_reason(self.instance):
            self.fields["number"].disabled = True
            self.fields["number"].help_text = f"It can no longer change: {fixed}"
        else:
            self.fields["number"].required = False  # left empty: it stays as it is
        self._currency_choices()

    def _currency_choices(self) -> None:
        """With connected books, a choice of their currencies and the account's own (and the
        invoice's, so an edit never changes it unasked); otherwise any three letters."""
        allowed = invoice_currency_choices(self.account)
        if allowed is None:
            return
        codes = [self.account.currency.upper()]
        if self.instance.pk and self.instance.currency:
            codes.append(self.instance.currency)
        codes += allowed
        unique = list(dict.fromkeys(codes))
        self.fields["currency"] = forms.ChoiceField(
            choices=[(code, code) for code in unique],
            help_text="The currencies enabled in your accounting organisation, and the "
            "account's own.",
        )

    def clean_number(self) -> str:
        number: str = self.cleaned_data["number"].strip()
        return number or self.instance.number

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"].strip().upper()
        return currency


class ProductSelect(forms.Select):
    """The line's product, each option carrying what picking it fills in (invoice_lines.js):
    its description, price and tax rate, which staff may still change on the line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fills: dict[str, dict[str, str]] = {}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        fill = self.fills.get(str(option["value"]))
        if fill:
            option["attrs"].update({f"data-{k}": v for k, v in fill.items()})
        return option


def product_fills(products: Iterable[Product]) -> dict[str, dict[str, str]]:
    return {
        str(p.pk): {
            "description": p.description or p.name,
            "unit-price": decimal_text(p.unit_price, 2),
            "tax-rate": str(p.tax_rate_id or ""),
        }
        for p in products
    }


class _RatesReadOnce(ModelChoiceIterator[TaxRate]):
    """A line's tax select drawn from the formset's one queryset of rates (`shared`), which
    the database reads once for every line: the field's own queryset is a copy per line
    (ModelChoiceField takes .all() of what it is given), read again at each drawing."""

    def __init__(self, field: "TaxRateField") -> None:
        super().__init__(field)
        if field.shared is not None:
            self.queryset = field.shared

    def __iter__(self) -> Iterator[tuple[ModelChoiceIteratorValue | str, str]]:
        if self.field.empty_label is not None:
            yield ("", str(self.field.empty_label))
        for rate in self.queryset:  # read once, then its result cache
            yield self.choice(rate)


class TaxRateField(forms.ModelChoiceField[TaxRate]):
    """Validation goes through its own queryset as any ModelChoiceField's; only the choices
    drawn come from `shared` when the formset gives one."""

    iterator = _RatesReadOnce
    shared: QuerySet[TaxRate] | None = None


class LineForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Free text", widget=ProductSelect
    )
    # A text area that grows with its text (CSS field-sizing): long descriptions stay readable.
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 1}))
    quantity = FiniteDecimalField(max_digits=12, decimal_places=4, min_value=0, initial=1)
    unit_price = FiniteDecimalField(max_digits=14, decimal_places=4, label="Unit price")
    discount_rate = FiniteDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        initial=0,
        label="Discount (%)",
    )
    tax_rate = TaxRateField(queryset=None, required=False, empty_label="No tax")

    def __init__(
        self,
        *args: Any,
        account: Account,
        tax_rates: QuerySet[TaxRate] | None = None,
        products: QuerySet[Product] | None = None,
        fills: dict[str, dict[str, str]] | None = None,
        product_options: list[tuple[Any, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        tax_rate_field = cast("TaxRateField", self.fields["tax_rate"])
        tax_rate_field.shared = tax_rates  # before the queryset, whose setter draws the choices
        tax_rate_field.queryset = tax_rates if tax_rates is not None else tax_rate_choices(account)
        product_field = cast("forms.ModelChoiceField[Product]", self.fields["product"])
        product_field.queryset = products if products is not None else product_choices(account)
        cast(ProductSelect, product_field.widget).fills = fills or {}
        if product_options is not None:
            # Read once for all rows: the queryset's own iterator would query again per row
            # (the queryset still decides what a posted id may be).
            product_field.choices = product_options

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if all(data.get(name) is not None for name in ("quantity", "unit_price")):
            amount = line_amount(
                Line(data["quantity"], data["unit_price"], data.get("discount_rate") or Decimal(0))
            )
            if abs(amount) > LINE_AMOUNT_MAX:
                self.add_error(
                    "unit_price",
                    f"Quantity × unit price is more than a line can hold ({LINE_AMOUNT_MAX:,}).",
                )
        return data

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            id=data.get("id"),
            description=data["description"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            discount_rate=data.get("discount_rate") or Decimal(0),
            tax_rate=data.get("tax_rate"),
            product=data.get("product"),
        )


class BaseLineFormSet(forms.BaseFormSet[LineForm]):
    # The ids of the invoice's own lines, which rows may edit; None: not checked (the live
    # totals preview, which saves nothing).
    line_ids: set[int] | None = None

    def clean(self) -> None:
        """A row may only edit a line of this invoice, and each line from one row only;
        and the lines together must fit an invoice's total."""
        seen: dict[int, int] = {}
        amount = Decimal(0)
        for n, form in enumerate(self.forms, start=1):
            kept = form.is_valid() and form.cleaned_data and not _marked_for_deletion(form)
            if not kept:
                continue
            line = form.line_input()
            amount += line_amount(Line(line.quantity, line.unit_price, line.discount_rate))
            if line.id is None or self.line_ids is None:
                continue
            if line.id not in self.line_ids:
                form.add_error("id", "This row names a line that is not on this invoice.")
            elif line.id in seen:
                form.add_error("id", f"This row repeats line {seen[line.id]}; remove one of them.")
            else:
                seen[line.id] = n
        if abs(amount) > TOTAL_MAX:
            raise forms.ValidationError(
                f"These lines add up to more than an invoice can hold ({TOTAL_MAX:,}); "
                "split them into two invoices."
            )

    def lines(self) -> list[LineInput]:
        """The lines to keep, in order: not removed, not left blank."""
        return [
            form.line_input()
            for form in self.forms
            # An untouched added row cleans to {}; it is left out, not refused.
            if form.is_valid() and form.cleaned_data and not _marked_for_deletion(form)
        ]


def _marked_for_deletion(form: forms.Form) -> bool:
    """The row's Delete box is ticked (what BaseFormSet._should_delete_form reads)."""
    return bool(form.cleaned_data.get(forms.formsets.DELETION_FIELD_NAME, False))


MAX_LINES = 200  # lines on one invoice


def line_formset(
    *,
    account: Account,
    invoice: Invoice | None,
    data: QueryDict | None = None,
    preview: bool = False,
) -> BaseLineFormSet:
    """The invoice's line rows; `preview` for the live totals, which take any row as typed."""
    tax_rates = tax_rate_choices(account, keep_for=invoice)
    # Read once for every row (and the fill-ins each option carries).
    products = product_choices(account)
    listed = list(products) if not preview else []
    fills = product_fills(listed)
    options = [("", "Free text"), *((p.pk, str(p)) for p in listed)]
    initial: list[dict[str, Any]] | None = None
    if invoice is not None:
        initial = [
            {
                "id": line.pk,
                "description": line.description,
                # As people write them, not as stored (240.0000).
                "quantity": decimal_text(line.quantity),
                "unit_price": decimal_text(line.unit_price, 2),
                "discount_rate": decimal_text(line.discount_rate),
                "tax_rate": line.tax_rate_id,
                "product": line.product_id,
            }
            for line in invoice.lines.all()
        ]
    # django-stubs gives the factory's class as BaseFormSet, whatever `formset` it was given.
    formset_class = cast(
        type[BaseLineFormSet],
        forms.formset_factory(
            LineForm,
            formset=BaseLineFormSet,
            extra=0 if initial else 1,
            can_delete=True,
            # A posted TOTAL_FORMS is never trusted beyond this: a forged huge count would
            # otherwise build and render thousands of forms.
            max_num=MAX_LINES,
            absolute_max=MAX_LINES,
            validate_max=True,
        ),
    )
    formset = formset_class(
        data,
        initial=initial,
        prefix="lines",
        form_kwargs={
            "account": account,
            "tax_rates": tax_rates,
            "products": products,
            "fills": fills,
            "product_options": None if preview else options,
        },
    )
    if not preview:
        formset.line_ids = {row["id"] for row in initial or ()}
    return formset


class PaymentForm(forms.Form):
    amount = FiniteDecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    date = forms.DateField(widget=DATE_WIDGET)
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(max_length=255, required=False)

    def __init__(self, *args: Any, invoice: Invoice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("amount", invoice.amount_due)
        self.initial.setdefault("date", timezone.localdate())


class CreditNoteForm(forms.Form):
    """A credit note: some of the invoice's lines (a quantity of each) or an amount, a reason,
    and how much of it is refunded. The service decides what is allowed; this reads input."""

    reason = forms.CharField(
        max_length=255, help_text="Shown on the credit note, in Xero as its reference."
    )
    amount = FiniteDecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        label="Or credit an amount",
        help_text="Tax included. Leave empty when crediting lines.",
    )
    refund = FiniteDecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        initial=Decimal("0.00"),
        label="Of it, refund",
        help_text="Money already paid that goes back to the customer; the rest of the credit "
        "comes off what is still owed.",
    )
    refund_method = forms.ChoiceField(
        choices=PaymentMethod.choices,
        initial=PaymentMethod.BANK_TRANSFER,
        label="Refund paid by",
    )
    date = forms.DateField(widget=DATE_WIDGET)

    def __init__(
        self, *args: Any, invoice: Invoice, left: dict[str, Decimal], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.initial.setdefault("date", timezone.localdate())
        self.line_fields: list[tuple[str, InvoiceLine]] = []
        for line in invoice.lines.all():
            name = f"line_{line.pk}"
            self.fields[name] = FiniteDecimalField(
                max_digits=12,
                decimal_places=4,
                min_value=Decimal(0),
                required=False,
                label=f"{line.description or f'Line {line.position + 1}'}",
                help_text=f"Quantity to credit, of {decimal_text(line.quantity)} "
                f"at {decimal_text(line.unit_price, 2)} each",
            )
            self.line_fields.append((name, line))
        self.fields[
            "refund"
        ].help_text += f" Up to {left['refund']} {invoice.currency} can be refunded."

    def line_inputs(self) -> list[CreditLineInput]:
        return [
            CreditLineInput(line=line, quantity=self.cleaned_data[name])
            for name, line in self.line_fields
            if self.cleaned_data.get(name)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        crediting_lines = any(data.get(name) for name, _ in self.line_fields)
        if crediting_lines and data.get("amount"):
            raise forms.ValidationError("Credit either some lines or an amount, not both.")
        if not crediting_lines and not data.get("amount"):
            raise forms.ValidationError("Give a quantity to credit on a line, or an amount.")
        return data

    def credit(self) -> dict[str, Any]:
        """The keyword arguments of credit_note_create this form stands for."""
        data = self.cleaned_data
        lines = self.line_inputs()
        return {
            "reason": data["reason"],
            "lines": lines,
            "amount": None if lines else data["amount"],
            "refund": data.get("refund") or Decimal(0),
            "refund_method": data["refund_method"],
            "date": data["date"],
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=200, help_text="Shown on the credit note, in Xero as its reference."
    )


class ProductForm(forms.ModelForm[Product]):
    unit_price = FiniteDecimalField(
        max_digits=14, decimal_places=4, min_value=Decimal(0), label="Unit price"
    )

    class Meta:
        model = Product
        fields = ["code", "name", "description", "unit_price", "tax_rate", "sales_account_code"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"sales_account_code": "Sales account code"}
        help_texts = {
            "code": "Up to 30 characters, unique in the account; in Xero, the item's code.",
            "description": "What an invoice line using it says (its name when left empty).",
            "sales_account_code": "The ledger account its sales go to in your accounting "
            "organisation; empty: the connection's sales account.",
        }

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tax_rate_field = cast("forms.ModelChoiceField[TaxRate]", self.fields["tax_rate"])
        # Active rates, and the product's own even if no longer active (kept unless changed).
        rates = tax_rate_choices(account)
        if self.instance.pk and self.instance.tax_rate_id:
            rates = rates | TaxRate.objects.filter(account=account, pk=self.instance.tax_rate_id)
        tax_rate_field.queryset = rates.distinct()
        tax_rate_field.empty_label = "No tax"
        self.fields["name"].required = False
        self.fields["name"].help_text = "Up to 50 characters (its code when left empty)."
