import re

from django.contrib.postgres.search import SearchQueryField
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404

from platform_crm.models import Account

from .models import SEARCH_WORD_BREAKS, Contact, ContactChange
from .phones import phone_to_e164

_WORD_BREAKS = re.compile(SEARCH_WORD_BREAKS)


class _Matches(Func):
    """tsvector @@ tsquery, as a condition."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def search_words_query(account: Account, search: str) -> str:
    """The tsquery that finds contacts with a word starting with each word of `search` (split
    and lower-cased as Contact.search_words is), within the account; "" when it has no words.
    The words hold no quote nor backslash (both break words), so quoting them is plain.
    Python lower-cases as PostgreSQL does for the letters of names (ā, ë, ü); a letter the two
    lower differently (Turkish İ) would not be found by its capital."""
    words = dict.fromkeys(w for w in _WORD_BREAKS.split(search.lower()) if w)
    return " & ".join(f"'{account.pk}:{word}':*" for word in words)


def contact_list(
    account: Account, *, search: str = "", archived: bool = False
) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(account=account, is_archived=archived)
    search = search.strip()
    if search:
        # Each word typed starts a word of the name, the company (behind a person, too) or the
        # email, in any order: "chloe wu", "wu chl" and "wu-design" find Chloe Wu of Wu Design
        # (chloe@wu-design.example); "hloe" does not. One GIN index lookup of the account's own
        # entries (Contact.search_words), where a trigram "contains" read thousands.
        query = search_words_query(account, search)
        # Only white space and punctuation: no word to find (and not every contact).
        match = Q(_Matches(F("search_words"), Cast(Value(query), SearchQueryField())))
        match = match if query else Q(pk__in=[])
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
