"""The invoices' contacts in Xero: linked when known, created (one call for the batch) when not.
When Xero already holds the name, its contact is linked only if its email or phone say it is
this one (contacts.name_links); otherwise the invoice waits for an admin's decision."""

from typing import Any

from django.utils import timezone

from contacts.models import Contact

from ..client import XeroClient, element_messages
from ..client.contacts import contacts_request_digest
from ..client.errors import BadAnswer, XeroError
from ..contacts.models import DuplicateResolution, PossibleDuplicate
from ..contacts.name_links import (
    name_match_decided,
    name_match_hold,
    name_match_judge,
    rename_message,
    waiting_message,
)
from ..inbound import normalise
from ..models import XeroConnection, XeroContact
from ..webhooks.own_writes import own_writes_remember
from .keys import digest
from .mapping import contact_body, contact_number
from .refusals import RowFailed, RowHeld, is_definite, page_url
from .rows import Row, spare_others


def contacts_link(
    client: XeroClient, connection: XeroConnection, rows: list[Row]
) -> dict[int, str]:
    """CRM contact id -> Xero ContactID for every live row, creating the missing ones in one
    call. A name Xero already holds (an earlier answer lost, or a contact not imported) is
    looked up: linked when its email or phone agree, else the contact's rows wait (RowHeld)."""
    live = [r for r in rows if r.live]
    links = dict(
        XeroContact.objects.filter(
            connection=connection, contact__in={r.sync.invoice.contact_id for r in live}
        ).values_list("contact_id", "xero_contact_id")
    )
    missing: dict[int, Contact] = {}
    for row in live:
        contact = row.sync.invoice.contact
        if contact is not None and contact.pk not in links:  # pre-flight: never None here
            missing[contact.pk] = contact
    if not missing:
        return links
    contacts = list(missing.values())
    bodies = [contact_body(c) for c in contacts]
    key = "crm-contacts-" + digest([contacts_request_digest(bodies), *sorted(missing)])
    try:
        answers = client.contacts_create(bodies, idempotency_key=key)
    except XeroError as refused:
        if not is_definite(refused):
            # Rows whose contact is already in Xero: not their failure.
            spare_others(rows, [r for r in live if r.sync.invoice.contact_id in missing])
            raise
        for contact in contacts:
            why = "Xero refused the invoice's contact: " + refused.message
            _rows_fail(live, contact, RowFailed("contact", why, _contact_page(contact)))
        return links
    if len(answers) != len(contacts):
        raise BadAnswer("Xero's answer does not hold one contact per contact sent.")
    created: list[tuple[str, object, bool]] = []
    for contact, answer in zip(contacts, answers, strict=True):
        messages = element_messages(answer)
        taken = isinstance(answer, dict) and not (
            messages or normalise.flag(answer.get("HasValidationErrors"))
        )
        xero_id = normalise.text(answer.get("ContactID"))[:64] if taken else ""
        if not xero_id:
            name = contact_body(contact).name
            theirs = _contact_by_name(client, name)
            xero_id = normalise.text(theirs.get("ContactID"))[:64] if theirs else ""
            twin = XeroContact.objects.filter(connection=connection, xero_contact_id=xero_id)
            if theirs is None or not xero_id or twin.exists():
                why = (
                    f"Xero already has a contact named “{name}”, linked to another CRM contact; "
                    "Xero needs contact names to be unique. Rename one of them, then retry."
                    if xero_id
                    else "Xero refused the invoice's contact: " + "; ".join(messages)
                )
                _rows_fail(live, contact, RowFailed("contact", why, _contact_page(contact)))
                continue
            held = _name_alone(connection, contact, theirs, xero_id, name)
            if held is not None:
                _rows_fail(live, contact, held)
                continue
        defaults: dict[str, Any] = {"xero_contact_id": xero_id, "synced_at": timezone.now()}
        if taken:
            # Xero's contact as our write left it, as the webhook that follows would fetch it.
            updated = answer.get("UpdatedDateUTC")
            defaults |= {
                "payload": normalise.json_safe(answer),
                "xero_updated_at": normalise.moment(updated),
            }
            created.append((xero_id, updated, True))
        XeroContact.objects.get_or_create(connection=connection, contact=contact, defaults=defaults)
        links[contact.pk] = xero_id
    own_writes_remember(connection.pk, "CONTACT", created)
    # A question about a name answered by the contact itself (renamed, or its email now
    # Xero's): no longer listed.
    PossibleDuplicate.objects.filter(
        connection=connection, contact__in=contacts, matched_by="name", resolved_at=None
    ).exclude(contact__xero_link=None).delete()
    return links


def _contact_page(contact: Contact) -> str:
    return page_url("contacts:edit", contact.account, pk=contact.pk)


def _rows_fail(rows: list[Row], contact: Contact, failure: RowFailed) -> None:
    for row in rows:
        if row.sync.invoice.contact_id == contact.pk:
            row.failed = failure


def _contact_by_name(client: XeroClient, name: str) -> dict[str, Any] | None:
    for contact in client.contacts_search(name):
        if not isinstance(contact, dict):
            continue
        if normalise.text(contact.get("Name")).lower() == name.strip().lower():
            return contact
    return None


def _name_alone(
    connection: XeroConnection, contact: Contact, theirs: dict[str, Any], xero_id: str, name: str
) -> RowHeld | None:
    """None when Xero's contact of that name is this one (name_links' rule); otherwise why the
    invoice waits, held as a possible duplicate for an admin."""
    if normalise.text(theirs.get("ContactNumber")) == contact_number(contact):
        return None  # ours: created by an earlier request whose answer was lost
    if name_match_decided(connection, contact, xero_id) == DuplicateResolution.APART:
        return RowHeld("contact_rename", rename_message(name), _contact_page(contact))
    judged = name_match_judge(contact, theirs, region=connection.account.country)
    if judged.link:
        return None
    name_match_hold(connection, contact, theirs, xero_id)
    return RowHeld(
        "contact_unconfirmed",
        waiting_message(name, judged.why),
        page_url("contacts:duplicates", contact.account),
    )
