"""A CRM contact about to be created in Xero for an invoice, whose name Xero already gives a
contact: linked only when something beside the name says they are one; otherwise held as a
possible duplicate for an admin, and the invoice waits (invoices.contacts_link).

A contact the CRM created there itself (an earlier answer lost) is known by the ContactNumber it
was created with (invoices.mapping.contact_number), never by its name. For the others, what a
careful user expects (the rule name_match_judge applies):
- The same email (case aside) links: Xero emails the invoice there, so it reaches the same
  people whatever else differs (a company's phones have many slots in Xero).
- The same phone links when the emails do not disagree (one side has none).
- Anything else asks: an email that differs (the issue's "Clash Co", billing@clash-crm vs
  accounts@clash-xero), a phone that differs with no email to settle it, and also nothing to
  compare at all (Xero's contact, or ours, has neither). Two businesses can share a trading
  name; an invoice billed to the wrong one lands in its ledger and its inbox, and undoing that
  costs far more than the one click the question costs.
"""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact

from ..inbound import normalise
from ..models import XeroConnection
from .mapping import phones_e164
from .models import DuplicateResolution, PossibleDuplicate


@dataclass(frozen=True)
class NameMatch:
    link: bool
    why: str  # why not, in words: "its email differs (… there, … here)"


def name_match_judge(contact: Contact, theirs: dict[str, Any], *, region: str) -> NameMatch:
    """Whether the CRM contact is Xero's contact of the same name, by email and phone."""
    their_email = normalise.text(theirs.get("EmailAddress")).lower()
    our_email = contact.email.strip().lower()
    their_phones = phones_e164(theirs.get("Phones"), region)
    email_agrees = bool(our_email) and our_email == their_email
    email_differs = bool(our_email and their_email) and our_email != their_email
    phone_agrees = bool(contact.phone_e164) and contact.phone_e164 in their_phones
    phone_differs = bool(contact.phone_e164 and their_phones) and not phone_agrees
    if email_agrees or (phone_agrees and not email_differs):
        return NameMatch(True, "")
    if email_differs:
        why = f"its email differs ({their_email} in Xero, {our_email} here)"
    elif phone_differs:
        why = "its phone differs from this contact's"
    elif their_email or their_phones:
        why = "this contact has no email or phone to compare with it"
    else:
        why = "it has no email or phone to compare with this contact's"
    return NameMatch(False, why)


def name_match_decided(connection: XeroConnection, contact: Contact, xero_id: str) -> str:
    """How an admin decided this pair ("" while undecided or never asked)."""
    found = (
        PossibleDuplicate.objects.filter(
            connection=connection, contact=contact, xero_contact_id=xero_id, matched_by="name"
        )
        .exclude(resolved_at=None)
        .order_by("-resolved_at")
        .values_list("resolution", flat=True)
        .first()
    )
    return found or ""


def name_match_hold(
    connection: XeroConnection, contact: Contact, theirs: dict[str, Any], xero_id: str
) -> None:
    """List the pair under Possible duplicates (once while undecided)."""
    open_for_it = PossibleDuplicate.objects.filter(
        connection=connection, xero_contact_id=xero_id, resolved_at=None
    )
    if open_for_it.exists():
        return  # already waiting for an admin (for this contact or, by email, another)
    try:
        with transaction.atomic():
            PossibleDuplicate.objects.create(
                connection=connection,
                contact=contact,
                xero_contact_id=xero_id,
                xero_name=normalise.text(theirs.get("Name"), 255),
                matched_by="name",
                payload=normalise.json_safe(theirs),
            )
    except IntegrityError:
        pass  # held by another drain meanwhile


def name_questions_answered(connection: XeroConnection, contact_ids: list[int]) -> None:
    """Contacts linked to Xero meanwhile (an import, a webhook, a poll): whether they are the
    contact of their name there is no longer a question (one DELETE)."""
    PossibleDuplicate.objects.filter(
        connection=connection, contact_id__in=contact_ids, matched_by="name", resolved_at=None
    ).delete()


def name_match_apart(*, duplicate: PossibleDuplicate, user: Any) -> bool:
    """Different contacts: the CRM contact keeps its invoices waiting for a name of its own."""
    with transaction.atomic():
        updated = PossibleDuplicate.objects.filter(
            Q(pk=duplicate.pk) & Q(resolved_at=None) & Q(matched_by="name")
        ).update(resolved_at=timezone.now(), resolution=DuplicateResolution.APART, resolved_by=user)
    return bool(updated)


def waiting_message(name: str, why: str) -> str:
    return (
        f"Waiting: Xero already has a contact named “{name}”, but {why}. An admin says on "
        "Possible duplicates whether they are the same contact; the invoice then goes to Xero."
    )


def rename_message(name: str) -> str:
    return (
        f"Waiting: Xero's “{name}” is another contact (an admin said so), and Xero needs "
        "contact names to be unique. Give this contact a name of its own; the invoice then "
        "goes to Xero."
    )
