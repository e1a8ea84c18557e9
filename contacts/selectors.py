from django.db.models import Q
from django.shortcuts import get_object_or_404

from platform_crm.models import Account

from .models import Contact
from .phones import phone_to_e164


def contact_list(account: Account, *, search: str = "", archived: bool = False):
    contacts = Contact.objects.filter(account=account, is_archived=archived)
    search = search.strip()
    if search:
        match = (
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(company_name__icontains=search)
            | Q(email__icontains=search)
        )
        e164 = phone_to_e164(search, default_region=account.country)
        if e164:
            # The account inside the branch lets PostgreSQL use the (account, phone) index.
            match |= Q(account=account, phone_e164=e164)
        contacts = contacts.filter(match)
    return contacts


def contact_get(account: Account, pk: int) -> Contact:
    return get_object_or_404(Contact.objects.select_related("account"), account=account, pk=pk)


def contact_history(contact: Contact, *, limit: int = 50):
    return contact.changes.select_related("changed_by")[:limit]
