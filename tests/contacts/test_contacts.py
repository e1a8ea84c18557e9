import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.phones import phone_to_e164

from ..factories import client_for, contact_make


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+64 21 123 4567", "NZ", "+64211234567"),
        ("021 123 4567", "NZ", "+64211234567"),
        ("(09) 555-0103", "NZ", "+6495550103"),
        ("+49 30 5550105", "NZ", "+49305550105"),
        ("0412 345 678", "AU", "+61412345678"),
        ("not a phone", "NZ", None),
        ("", "NZ", None),
    ],
)
def test_phone_numbers_normalise_to_e164_in_the_accounts_country(raw, region, expected):
    assert phone_to_e164(raw, default_region=region) == expected


@pytest.mark.django_db
def test_staff_creates_a_contact_and_the_phone_is_normalised(account, staff_user):
    url = reverse("contacts:new", args=[account.slug])
    response = client_for(staff_user).post(
        url,
        {
            "first_name": "Aroha",
            "last_name": "Ngata",
            "email": "aroha@example.co.nz",
            "phone": "021 555 0101",
            "is_customer": "on",
        },
    )
    contact = Contact.objects.get(account=account, email="aroha@example.co.nz")
    assert response["Location"] == reverse("contacts:detail", args=[account.slug, contact.pk])
    assert contact.phone == "021 555 0101"
    assert contact.phone_e164 == "+64215550101"


@pytest.mark.django_db
def test_bad_input_shows_errors_next_to_the_field_and_keeps_what_was_typed(account, staff_user):
    url = reverse("contacts:new", args=[account.slug])
    response = client_for(staff_user).post(
        url, {"first_name": "Ben", "email": "not-an-email", "phone": "call me"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "email" in form.errors
    assert form.errors["phone"] == ["This does not look like a phone number."]
    page = response.content.decode()
    assert 'value="Ben"' in page
    assert "Enter a valid email address." in page
    assert not Contact.objects.filter(account=account).exists()


@pytest.mark.django_db
def test_an_unreadable_phone_is_reported_on_the_phone_field(account, staff_user):
    url = reverse("contacts:new", args=[account.slug])
    response = client_for(staff_user).post(url, {"first_name": "Ben", "phone": "call me"})
    assert response.context["form"].errors["phone"] == ["This does not look like a phone number."]


@pytest.mark.django_db
def test_a_contact_needs_some_name(account, staff_user):
    url = reverse("contacts:new", args=[account.slug])
    response = client_for(staff_user).post(url, {"email": "x@example.com"})
    assert "Give the contact a first name" in response.content.decode()


@pytest.mark.django_db
def test_search_finds_a_phone_typed_in_another_format(account, staff_user):
    contact_make(account, first_name="Ben", last_name="Carter", phone="+64 21 555 0102")
    contact_make(account, first_name="Someone", last_name="Else")
    response = client_for(staff_user).get(
        reverse("contacts:index", args=[account.slug]), {"q": "021 555 0102"}
    )
    assert [c.last_name for c in response.context["page"]] == ["Carter"]


@pytest.mark.django_db
def test_live_search_returns_only_the_results_fragment(account, staff_user):
    contact_make(account, first_name="Chloe", last_name="Wu")
    response = client_for(staff_user).get(
        reverse("contacts:index", args=[account.slug]), {"q": "chlo"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "Wu" in page and "<html" not in page


@pytest.mark.django_db
def test_another_accounts_contact_is_404_even_inside_your_own_account(
    account, other_account, staff_user
):
    theirs = contact_make(other_account, first_name="Secret")
    client = client_for(staff_user)
    for name in ("contacts:detail", "contacts:edit"):
        response = client.get(reverse(name, args=[account.slug, theirs.pk]))
        assert response.status_code == 404
        assert "Secret" not in response.content.decode()


@pytest.mark.django_db
def test_edit_updates_the_contact(account, staff_user):
    contact = contact_make(account, first_name="Dan", last_name="Smith")
    client_for(staff_user).post(
        reverse("contacts:edit", args=[account.slug, contact.pk]),
        {"first_name": "Daniel", "last_name": "Smith", "phone": "+64 27 555 0104"},
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.phone_e164) == ("Daniel", "+64275550104")


@pytest.mark.django_db
def test_detail_shows_the_history_of_user_edits(account, staff_user):
    from contacts.models import ContactChange

    client = client_for(staff_user)
    client.post(
        reverse("contacts:new", args=[account.slug]), {"first_name": "Eva", "last_name": "M"}
    )
    contact = Contact.objects.get(account=account)
    client.post(
        reverse("contacts:edit", args=[account.slug, contact.pk]),
        {"first_name": "Eva", "last_name": "Müller"},
    )
    change = ContactChange.objects.get(contact=contact, field="last_name")
    assert (change.old_value, change.new_value, change.changed_by) == ("M", "Müller", staff_user)
    page = client.get(reverse("contacts:detail", args=[account.slug, contact.pk])).content.decode()
    assert "last_name: M → Müller" in page and "Not linked to a Xero contact" in page


@pytest.mark.django_db
def test_the_list_sorts_and_searches_by_the_name_people_see(account, staff_user):
    """Companies file under their own name ("Alpine Catering" under A, not under C), people
    under their full name, and a full name finds the person."""
    contact_make(account, first_name="", last_name="", company_name="Alpine Catering")
    contact_make(account, first_name="Chloe", last_name="Wu", company_name="Wu Design")
    contact_make(account, first_name="Ben", last_name="Carter")
    contact_make(account, first_name="", last_name="", company_name="Te Awamutu Coffee Co. (2)")
    client = client_for(staff_user)
    index = reverse("contacts:index", args=[account.slug])
    listed = [c.display_name for c in client.get(index).context["page"]]
    assert listed == ["Alpine Catering", "Ben Carter", "Chloe Wu", "Te Awamutu Coffee Co. (2)"]
    found = client.get(index, {"q": "chloe wu"}).context["page"]
    assert [c.display_name for c in found] == ["Chloe Wu"]
    found = client.get(index, {"q": "Design"}).context["page"]  # the company behind a person
    assert [c.display_name for c in found] == ["Chloe Wu"]


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("aroha@example.com", '<a href="mailto:aroha@example.com">aroha@example.com</a>'),
        # From Xero, unchecked: a link would carry the extra recipient. Shown as text.
        ("aroha@example.com?cc=thief@evil.example", "aroha@example.com?cc=thief@evil.example"),
        ("a@b.co?bcc=x", "a@b.co?bcc=x"),
        # Valid, yet '?' starts a mailto: link's headers: the address is percent-encoded.
        ("a?cc=thief@evil.example", '<a href="mailto:a%3Fcc%3Dthief@evil.example">'),
    ],
)
@pytest.mark.django_db
def test_an_email_is_a_mailto_link_only_when_it_is_a_valid_address(
    email, shown, account, staff_user
):
    contact = contact_make(account)
    Contact.objects.filter(pk=contact.pk).update(email=email)  # as the Xero sync stores it
    page = client_for(staff_user).get(reverse("contacts:detail", args=[account.slug, contact.pk]))
    html = page.content.decode()
    assert shown in html
    assert html.count("mailto:") == (1 if "mailto" in shown else 0)
