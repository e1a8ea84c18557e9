from django import template

from ..integrations import InvoiceIntegration
from ..integrations import invoice_integrations as registered

register = template.Library()


@register.simple_tag
def invoice_integrations() -> list[InvoiceIntegration]:
    """What integrations add to the invoice pages (invoices.integrations)."""
    return registered()
