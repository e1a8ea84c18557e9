"""xero_sync listens to the domain apps' signals; the domain apps never import xero_sync."""

from django.dispatch import receiver

from invoices.signals import (
    invoice_action_effects,
    invoice_changed,
    invoice_number_fixed,
    invoice_numbers_held,
)
from taxes.signals import tax_rate_saved

from .invoices import effects as invoice_effects
from .invoices.numbers import number_fixed_by_xero, numbers_xero_holds
from .invoices.outbox import invoice_sync_mark_pending
from .models import XeroConnection
from .taxes.services import mappings_recheck


@receiver(tax_rate_saved)
def recheck_mapping_of_changed_tax_rate(sender, tax_rate, **kwargs):
    connection = XeroConnection.objects.filter(account_id=tax_rate.account_id).first()
    if connection is not None:
        mappings_recheck(connection)


@receiver(invoice_changed)
def queue_invoice_push(sender, invoice, change, payment=None, **kwargs):
    invoice_sync_mark_pending(invoice=invoice, change=change, payment=payment)


@receiver(invoice_action_effects)
def say_what_an_invoice_action_does_in_xero(sender, action, invoice, payment=None, **kwargs):
    return invoice_effects.invoice_action_effects(action=action, invoice=invoice, payment=payment)


@receiver(invoice_numbers_held)
def numbers_already_in_xero(sender, account, numbers, **kwargs):
    return numbers_xero_holds(account, numbers)


@receiver(invoice_number_fixed)
def number_known_to_xero(sender, invoice, **kwargs):
    return number_fixed_by_xero(invoice)
