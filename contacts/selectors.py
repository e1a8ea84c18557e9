from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from platform_crm.models import Account

from .models import Contact, ContactChange
from .phones import phone_to_e164


def contact_list(
    account: Account, *, search: str = "", archived: bool = False
) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(account=account, is_archived=archived)
    search = search.strip()
    if search:
        # Every word somewhere in the name people see ("Chloe Wu", "Alpine Catering"), the
        # company behind a person, or the email: "chloe wu" and "wu chloe" find Chloe Wu.
        match = Q()
        for word in search.split():
            match &= (
                Q(sort_name__contains=word.lower())
                | Q(company_name__icontains=word)
                | Q(email__icontains=word)
            )
        e164 = phone_to_e164(search, default_region=account.country)
        if e164:
            # The account inside the branch lets PostgreSQL use the (account, phone) index.
            match |= Q(account=account, phone_e164=e164)
        contacts = contacts.filter(match)
    return contacts


def contact_get(account: Account, pk: int) -> Contact:
    return get_object_or_404(Contact.objects.select_related("account"), account=account, pk=pk)


def contact_history(contact: Contact, *, limit: int = 50) -> QuerySet[ContactChange]:
    return contact.changes.select_related("changed_by")[:limit]


PICKER_MATCHES = 20  # shown per keystroke; more means "keep typing"


def contact_matches(
    account: Account, *, search: str, limit: int = PICKER_MATCHES
) -> tuple[list[Contact], bool]:
    """Active contacts matching `search` (as the contact list searches), in list order: at most
    `limit`, plus whether there are more."""
    search = search.replace("\x00", "").strip()[:100]
    if not search:
        return [], False
    found = list(contact_list(account, search=search)[: limit + 1])
    return found[:limit], len(found) > limit


def contact_for_picker(account: Account, pk: str | int | None) -> Contact | None:
    """The chosen contact a picker shows (archived ones included: an invoice keeps its
    contact); None for no value or one that is not this account's contact."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if pk is None or not str(pk).isdecimal() or len(str(pk)) > 18:
        return None
    return Contact.objects.filter(account=account, pk=int(pk)).first()
