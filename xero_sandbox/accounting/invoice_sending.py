"""The invoice's own link and email from Xero: GET /Invoices/{id}/OnlineInvoice (a URL to the
online invoice, for approved sales invoices) and POST /Invoices/{id}/Email (Xero emails the
invoice to the contact; the sandbox records it as an event the control API lists)."""

import secrets
from typing import TYPE_CHECKING, Any

from ..msdates import iso_datetime
from ..store import Tenant, touch
from ..wire import Response
from .call import Call
from .envelope import envelope, not_found, validation_exception

if TYPE_CHECKING:  # the sandbox imports the handlers
    from ..sandbox import Sandbox

ONLINE_STATUSES = ("AUTHORISED", "PAID")
# Developer docs, quoted by third parties: "The invoice must be of Type ACCREC and a valid
# Status for sending (SUBMITTED, AUTHORISED or PAID)".
EMAIL_STATUSES = ("SUBMITTED", "AUTHORISED", "PAID")
NOT_ONLINE = "An online invoice is only available for approved sales invoices."
NOT_SENDABLE = (
    "The invoice must be of Type ACCREC and a valid Status for sending "
    "(SUBMITTED, AUTHORISED or PAID)."
)
NO_ADDRESS = "The contact has no email address to send the invoice to."


def _invoice(call: Call) -> dict[str, Any] | None:
    return call.tenant.invoices.get(call.request.params["id"].lower())


def _refused(invoice: dict[str, Any], message: str) -> Response:
    return validation_exception(
        [{"InvoiceID": invoice["InvoiceID"], "ValidationErrors": [{"Message": message}]}]
    )


def online_invoice_url(sandbox: "Sandbox", tenant: Tenant, invoice: dict[str, Any]) -> str:
    """Stable per invoice, shaped like https://in.xero.com/<40 characters>, served by the
    sandbox's HTML view at /in/<token>."""
    token = tenant.online_invoices.get(invoice["InvoiceID"])
    if token is None:
        token = secrets.token_urlsafe(30)
        tenant.online_invoices[invoice["InvoiceID"]] = token
    return f"{sandbox.base_url}/in/{token}"


def recipients(tenant: Tenant, invoice: dict[str, Any]) -> list[str]:
    """The contact's primary address and every contact person with IncludeInEmails (docs)."""
    contact = tenant.contacts.get(invoice["Contact"]["ContactID"], {})
    found = [contact.get("EmailAddress")] + [
        p.get("EmailAddress")
        for p in contact.get("ContactPersons") or []
        if isinstance(p, dict) and p.get("IncludeInEmails")
    ]
    return [a for a in found if isinstance(a, str) and a.strip()]


# handlers ---------------------------------------------------------------------------------
def get_online_invoice(call: Call) -> Response:
    invoice = _invoice(call)
    if invoice is None:
        return not_found()
    if invoice["Type"] != "ACCREC" or invoice["Status"] not in ONLINE_STATUSES:
        return _refused(invoice, NOT_ONLINE)
    url = online_invoice_url(call.sandbox, call.tenant, invoice)
    return envelope(call.now, "OnlineInvoices", [{"OnlineInvoiceUrl": url}])


def email_invoice(call: Call) -> Response:
    invoice = _invoice(call)
    if invoice is None:
        return not_found()
    if invoice["Type"] != "ACCREC" or invoice["Status"] not in EMAIL_STATUSES:
        return _refused(invoice, NOT_SENDABLE)
    to = recipients(call.tenant, invoice)
    if not to:
        return _refused(invoice, NO_ADDRESS)
    call.tenant.invoice_emails.append(
        {
            "id": len(call.tenant.invoice_emails) + 1,
            "time": iso_datetime(call.now) + "Z",
            "tenantId": call.tenant.id,
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber", ""),
            "To": to,
            "idempotencyKey": call.request.header("Idempotency-Key"),
        }
    )
    if not invoice.get("SentToContact"):
        # Emailing marks the invoice sent (UNVERIFIED; the field is "sent" in Xero's UI).
        invoice["SentToContact"] = True
        touch(invoice, call.now)
        call.emit("INVOICE", "UPDATE", invoice["InvoiceID"])
    return Response(status=204, content_type="text/plain")
