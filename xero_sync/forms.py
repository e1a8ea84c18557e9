"""What an admin chooses on the integration's pages, read from a POST and checked."""

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from .client import ContactGroup
from .connection.models import XeroConnection
from .contacts.models import ContactImport


@dataclass
class ContactFilterChoice:
    """Which Xero contacts to import: all, or members of some groups; and which kinds."""

    only_groups: bool = False
    group_ids: list[str] = field(default_factory=list)
    customers: bool = True
    suppliers: bool = True
    others: bool = True
    error: str = ""

    @classmethod
    def of(cls, source: ContactImport | XeroConnection) -> "ContactFilterChoice":
        """As a ContactImport ran it or a XeroConnection keeps it."""
        return cls(
            only_groups=bool(source.contact_group_ids),
            group_ids=list(source.contact_group_ids),
            customers=source.import_customers,
            suppliers=source.import_suppliers,
            others=source.import_others,
        )

    @classmethod
    def from_post(cls, post: QueryDict, groups: list[ContactGroup]) -> "ContactFilterChoice":
        known = {g.id for g in groups}
        choice = cls(
            only_groups=post.get("scope") == "groups",
            group_ids=[g for g in post.getlist("group") if g in known],
            customers="customers" in post,
            suppliers="suppliers" in post,
            others="others" in post,
        )
        if choice.only_groups and not choice.group_ids:
            choice.error = "Tick at least one group, or choose All contacts."
        elif not (choice.customers or choice.suppliers or choice.others):
            choice.error = "Tick at least one kind of contact."
        if not choice.only_groups:
            choice.group_ids = []  # "All contacts": ticked groups do not narrow it
        return choice

    def start_kwargs(self, groups: list[ContactGroup]) -> dict[str, Any]:
        """Arguments for contacts.imports.import_start."""
        names = {g.id: g.name for g in groups}
        return {
            "group_ids": self.group_ids,
            "group_names": [names[g] for g in self.group_ids if g in names],
            "customers": self.customers,
            "suppliers": self.suppliers,
            "others": self.others,
        }


class EarlierInvoicesForm(forms.Form):
    since = forms.DateField(
        label="Dated from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ContactSyncForm(forms.ModelForm[XeroConnection]):
    """Which CRM contacts go to Xero, and who wins a field changed on both sides."""

    class Meta:
        model = XeroConnection
        fields = ("contact_push_mode", "contact_conflict_rule")
