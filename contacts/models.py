from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Func, TextField, Value
from django.db.models.functions import Cast, Coalesce, Concat, Lower, NullIf, Trim

from platform_crm.models import Account


def display_name_of(
    *, first_name: str, last_name: str, company_name: str, email: str, pk: int | None
) -> str:
    """The name a contact goes by: its person's name, else its company, else its email."""
    full_name = " ".join(part for part in (first_name, last_name) if part)
    return full_name or company_name or email or f"Contact #{pk}"


# The billing address (Xero's POBOX address), as Xero bounds each part.
ADDRESS_FIELDS = (
    "address_line1",
    "address_line2",
    "address_line3",
    "address_line4",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
)


# What separates the words that search matches the starts of: white space and ASCII punctuation
# (so "o'brien-smith" is o, brien and smith, and an email is its parts). One pattern, read the
# same by PostgreSQL (the search_words column) and Python (the query, contacts.selectors).
SEARCH_WORD_BREAKS = r"[\t\n\v\f\r !-/:-@\[-`{-~]+"


def _search_words() -> Func:
    """The expression of Contact.search_words: each word of the name, company and email,
    lower-cased, as "<account id>:<word>" lexemes of a tsvector."""
    text = TextField()
    account = Concat(Cast("account_id", text), Value(":"), output_field=text)
    parts = ("first_name", Value(" "), "last_name", Value(" "), "company_name", Value(" "), "email")
    words = Lower(Concat(*parts, output_field=text))
    spaced = Func(
        Func(words, Value(SEARCH_WORD_BREAKS), Value(" "), Value("g"), function="REGEXP_REPLACE"),
        function="BTRIM",
        output_field=text,
    )
    space_account = Concat(Value(" "), account, output_field=text)
    prefixed = Concat(
        account,
        Func(spaced, Value(" "), space_account, function="REPLACE", output_field=text),
        output_field=text,
    )
    return Func(
        Func(prefixed, Value(" "), function="STRING_TO_ARRAY", output_field=text),
        function="ARRAY_TO_TSVECTOR",
        output_field=SearchVectorField(),
    )


class Contact(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    company_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=255, blank=True)
    # As entered, for display; phone_e164 is what matching and search compare. Wide enough for
    # Xero's country code, area code and number as typed there (20 + 10 + 50 characters).
    phone = models.CharField(max_length=100, blank=True)
    phone_e164 = models.CharField(max_length=20, blank=True)
    # The billing address, in Xero's parts and lengths (its POBOX address).
    address_line1 = models.CharField("Billing address", max_length=500, blank=True)
    address_line2 = models.CharField("Address line 2", max_length=500, blank=True)
    address_line3 = models.CharField("Address line 3", max_length=500, blank=True)
    address_line4 = models.CharField("Address line 4", max_length=500, blank=True)
    address_city = models.CharField("Town or city", max_length=255, blank=True)
    address_region = models.CharField("Region", max_length=255, blank=True)
    address_postal_code = models.CharField("Postal code", max_length=50, blank=True)
    address_country = models.CharField("Country", max_length=50, blank=True)
    is_customer = models.BooleanField(default=True)
    is_supplier = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The name people see (display_name without its last resort), lower-cased: what lists sort
    # by and name search looks in, so "Alpine Catering" files under A and "Chloe Wu" is found.
    sort_name = models.GeneratedField(
        expression=Lower(
            Coalesce(
                NullIf(Trim(Concat("first_name", Value(" "), "last_name")), Value("")),
                NullIf("company_name", Value("")),
                "email",
            )
        ),
        output_field=models.CharField(max_length=511),
        db_persist=True,
    )
    # What search matches (contacts.selectors.contact_list): the words of the name, company and
    # email, each prefixed with the account ("17:chloe"), so that a search looks up the starts
    # of words in one GIN index and only ever reads the account's own entries. A trigram
    # "contains" match read thousands of candidates per search at 100,000 contacts (issue 19).
    search_words = models.GeneratedField(
        expression=_search_words(), output_field=SearchVectorField(), db_persist=True
    )

    class Meta:
        ordering = ["sort_name", "id"]
        indexes = [
            models.Index("account", Lower("email"), name="contact_account_email"),
            models.Index(fields=["account", "phone_e164"], name="contact_account_phone"),
            models.Index(
                fields=["account", "is_archived", "sort_name", "id"], name="contact_account_list"
            ),
            # New entries wait in a pending list that every search reads through until a vacuum
            # (or the list's limit) files them. 1 MB, not 4: after a 100,000-contact import a
            # search read 13,000 pending entries at 4 MB (2.5 ms rather than 0.1). With no list
            # at all (fastupdate off), 100,000 inserts took 11 s rather than about 6.
            GinIndex(
                fields=["search_words"], name="contact_search_words", gin_pending_list_limit=1024
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def address_lines(self) -> list[str]:
        """The billing address as it is written on an envelope, empty parts left out."""
        place = " ".join(p for p in (self.address_city, self.address_postal_code) if p)
        parts = (
            self.address_line1,
            self.address_line2,
            self.address_line3,
            self.address_line4,
            place,
            self.address_region,
            self.address_country,
        )
        return [p for p in parts if p]

    @property
    def display_name(self) -> str:
        return display_name_of(
            first_name=self.first_name,
            last_name=self.last_name,
            company_name=self.company_name,
            email=self.email,
            pk=self.pk,
        )


class ChangeSource(models.TextChoices):
    USER = "user", "A user"
    XERO = "xero", "Xero"


class ContactChange(models.Model):
    """The audit trail: one row per field changed, with where the change came from."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=40)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["contact", "-changed_at"], name="contact_change_recent")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} -> {self.new_value!r} ({self.source})"


class NotDuplicate(models.Model):
    """Contacts an admin said are not one person or company, though they looked it (the same
    email, phone or name): that group is not listed again while its members stay the same."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)  # what they share: "email:…", "phone:…", "name:…"
    contact_ids = models.JSONField(default=list)  # sorted
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key", "contact_ids"], name="not_duplicate_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.contact_ids}"
