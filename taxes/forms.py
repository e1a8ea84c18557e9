from decimal import Decimal
from typing import Any

from django import forms

from platform_crm.forms import FiniteDecimalField

from .models import TaxRate
from .services import MAX_COMPONENTS


class TaxRateForm(forms.ModelForm[TaxRate]):
    class Meta:
        model = TaxRate
        fields = ["name", "is_active"]


class ComponentForm(forms.Form):
    name = forms.CharField(max_length=100)
    rate = FiniteDecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, label="Rate (%)"
    )
    is_compound = forms.BooleanField(
        required=False,
        label="Compound",
        help_text="Charged on the amount plus the other components' tax.",
    )


ComponentFormSet = forms.formset_factory(
    ComponentForm,
    extra=1,
    max_num=MAX_COMPONENTS,
    validate_max=True,
    min_num=1,
    validate_min=True,
    can_delete=True,
)


def components_from(formset: forms.BaseFormSet[Any]) -> list[tuple[str, Decimal, bool]]:
    return [
        (f.cleaned_data["name"], f.cleaned_data["rate"], f.cleaned_data["is_compound"])
        for f in formset.forms
        if f.cleaned_data.get("name") and not f.cleaned_data.get("DELETE")
    ]
