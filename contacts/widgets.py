"""The contact picker: search-as-you-type for a form field that holds a contact's id, instead
of a dropdown of every contact (a 28,000-contact account made a 1.5 MB page of one). htmx asks
contacts:pick for matches as the user types and for the picker again once one is chosen; the
field posts the chosen id in a hidden input, and the form's field still decides what is valid."""

import re
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from platform_crm.models import Account

from .selectors import contact_for_picker

# The field name and element id the picker echoes back into the page come from its own URL:
# only plain identifiers are taken.
SAFE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,59}$")


def safe_name(value: str | None, default: str) -> str:
    return value if value and SAFE_NAME.match(value) else default


class ContactPicker(forms.Widget):
    template_name = "contacts/_picker.html"

    def __init__(self, *, account: Account, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.account = account

    def id_for_label(self, id_: str) -> str:
        return f"{id_}-search" if id_ else id_

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["chosen"] = contact_for_picker(self.account, value)
        context["pick_url"] = reverse("contacts:pick", args=[self.account.slug])
        return context

    def value_from_datadict(self, data: Any, files: MultiValueDict[str, Any], name: str) -> Any:
        return data.get(name) or None
