from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from .forms import ComponentFormSet, TaxRateForm, components_from
from .models import TaxRate
from .selectors import tax_rate_list
from .services import tax_rate_create, tax_rate_update


@account_view(role=Role.ADMIN)
def tax_rate_index(request: AccountRequest, account: Account) -> HttpResponse:
    return render(request, "taxes/index.html", {"tax_rates": tax_rate_list(account)})


def _edit(request: AccountRequest, account: Account, tax_rate: TaxRate | None) -> HttpResponse:
    initial = (
        [
            {"name": c.name, "rate": c.rate, "is_compound": c.is_compound}
            for c in tax_rate.components.all()
        ]
        if tax_rate
        else None
    )
    form = TaxRateForm(request.POST or None, instance=tax_rate)
    formset = ComponentFormSet(request.POST or None, initial=initial, prefix="components")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        try:
            if tax_rate is None:
                tax_rate_create(
                    account=account,
                    name=data["name"],
                    is_active=data["is_active"],
                    components=components_from(formset),
                )
            else:
                tax_rate_update(
                    tax_rate=tax_rate,
                    name=data["name"],
                    is_active=data["is_active"],
                    components=components_from(formset),
                )
            return redirect("taxes:index", account_slug=account.slug)
        except ValidationError as error:
            form.add_error(None, error)
    return render(
        request,
        "taxes/form.html",
        {"form": form, "formset": formset, "tax_rate": tax_rate},
    )


@account_view(role=Role.ADMIN)
def tax_rate_new(request: AccountRequest, account: Account) -> HttpResponse:
    return _edit(request, account, None)


@account_view(role=Role.ADMIN)
def tax_rate_edit(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    return _edit(request, account, get_object_or_404(TaxRate, account=account, pk=pk))
