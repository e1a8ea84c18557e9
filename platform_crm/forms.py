"""Form fields shared by the apps' forms."""

from decimal import Decimal
from typing import Any

from django import forms


class FiniteDecimalField(forms.DecimalField):
    """A DecimalField that refuses NaN and infinities as it reads them. Django's reads "sNaN"
    as a Decimal and compares it with the initial value (an untouched row's check), and that
    comparison raises instead of refusing the input."""

    # The ignore is django-stubs' own: DecimalField subclasses IntegerField, and its to_python
    # returns a Decimal where IntegerField's returns an int.
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        number = super().to_python(value)
        if number is not None and not number.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class SearchForm(forms.Form):
    """A list's search box. What cannot be a search (a NUL byte, which PostgreSQL refuses in
    text, or more than anyone types) is refused with the reason, and nothing is searched."""

    q = forms.CharField(required=False, max_length=200, label="Search")

    def search(self) -> str:
        search: str = self.cleaned_data["q"] if self.is_valid() else ""
        return search


def id_from(value: object) -> int | None:
    """A row id read straight from a query string or a POST, or None when the value cannot be
    one (letters, NUL, past bigint, 100,000 digits): a lookup by it would raise, not miss."""
    try:
        row_id: int | None = forms.IntegerField(min_value=1, max_value=2**63 - 1).clean(value)
        return row_id
    except forms.ValidationError:
        return None


def text_from(value: object, *, max_length: int) -> str | None:
    """Text read straight from a POST that can be compared with a column (no NUL byte, not
    longer than the column), or None."""
    try:
        text: str = forms.CharField(max_length=max_length, required=False).clean(value)
        return text
    except forms.ValidationError:
        return None
