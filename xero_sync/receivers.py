"""xero_sync listens to the domain apps' signals; the domain apps never import xero_sync."""

from typing import Any

from django.dispatch import receiver

from contacts.models import Contact
from contacts.signals import (
    contact_changed,
    contact_edit_refusals,
    contacts_merging,
    duplicate_group_sources,
    duplicate_review_panels,
)
from invoices.models import Invoice, Payment
from invoices.signals import (
    invoice_action_effects,
    invoice_changed,
    invoice_number_fixed,
    invoice_numbers_held,
)
from platform_crm.models import Account
from taxes.models import TaxRate
from taxes.signals import tax_rate_saved

from .contacts.duplicates import links_fold, phone_clash_groups
from .contacts.mapping import NAME_FIELDS, xero_name
from .contacts.models import XeroContact
from .contacts.outbox import contact_sync_mark_pending, goes_to_xero
from .contacts.preflight import name_taken_message
from .contacts.views import duplicates_panel
from .invoices import effects as invoice_effects
from .invoices.numbers import number_fixed_by_xero, numbers_xero_holds
from .invoices.outbox import invoice_sync_mark_pending, invoices_resume_held
from .models import XeroConnection
from .taxes.services import mappings_recheck


@receiver(tax_rate_saved)
def recheck_mapping_of_changed_tax_rate(sender: object, tax_rate: TaxRate, **kwargs: Any) -> None:
    connection = XeroConnection.objects.filter(account_id=tax_rate.account_id).first()
    if connection is not None:
        mappings_recheck(connection)


@receiver(invoice_changed)
def queue_invoice_push(
    sender: object, invoice: Invoice, change: str, payment: Payment | None = None, **kwargs: Any
) -> None:
    invoice_sync_mark_pending(invoice=invoice, change=change, payment=payment)


@receiver(invoice_action_effects)
def say_what_an_invoice_action_does_in_xero(
    sender: object, action: str, invoice: Invoice, payment: Payment | None = None, **kwargs: Any
) -> tuple[str, list[str]] | None:
    return invoice_effects.invoice_action_effects(action=action, invoice=invoice, payment=payment)


@receiver(invoice_numbers_held)
def numbers_already_in_xero(
    sender: object, account: Account, numbers: list[str], **kwargs: Any
) -> dict[str, str]:
    return numbers_xero_holds(account, numbers)


@receiver(invoice_number_fixed)
def number_known_to_xero(sender: object, invoice: Invoice, **kwargs: Any) -> str:
    return number_fixed_by_xero(invoice)


@receiver(contact_changed)
def queue_contact_push(
    sender: object, contact: Contact, fields: list[str], at: Any, **kwargs: Any
) -> None:
    contact_sync_mark_pending(contact=contact, fields=fields, at=at)


@receiver(contact_changed)
def resume_invoices_waiting_for_the_contact(
    sender: object, contact: Contact, fields: list[str], **kwargs: Any
) -> None:
    """A contact whose invoices wait (its name is another contact's in Xero) was edited: a
    name of its own, or the email that shows it is Xero's, lets them go on (they are held
    again, with the same words, if not)."""
    if set(fields) & {*NAME_FIELDS, "email", "phone"}:
        invoices_resume_held(contact_id=contact.pk)


@receiver(contact_edit_refusals)
def name_xero_gives_another(
    sender: object, contact: Contact, fields: list[str], **kwargs: Any
) -> str:
    """A rename of a contact that goes to Xero, to a name Xero gives another contact."""
    if not set(fields) & set(NAME_FIELDS):
        return ""
    connection = XeroConnection.objects.filter(account_id=contact.account_id).first()
    if connection is None or not connection.tenant_id:
        return ""
    linked = XeroContact.objects.filter(connection=connection, contact_id=contact.pk).exists()
    if not goes_to_xero(connection, contact, linked=linked):
        return ""
    return name_taken_message(connection, contact, xero_name(contact))


@receiver(contacts_merging)
def fold_xero_links(
    sender: object, survivor: Contact, merged: list[Contact], **kwargs: Any
) -> None:
    links_fold(survivor=survivor, merged=merged)
    # A merge may answer what their invoices wait for (the link is now the survivor's).
    for contact in (survivor, *merged):
        invoices_resume_held(contact_id=contact.pk)


@receiver(duplicate_review_panels)
def xero_contacts_matching_one(
    sender: object, request: Any, account: Account, **kwargs: Any
) -> str:
    return duplicates_panel(request, account)


@receiver(duplicate_group_sources)
def xero_contacts_with_one_contacts_email_and_anothers_phone(
    sender: object, account: Account, **kwargs: Any
) -> list[tuple[str, list[int], str]]:
    return phone_clash_groups(account)
