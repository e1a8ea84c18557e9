"""Tracking categories and branding themes on invoices sent to Xero: read from Xero into the
connection's settings; an admin's defaults; an invoice's (and a line's) own choice over them;
sent on the invoice; the pre-flight stops one no longer active before any call, and Xero refuses
it when sent anyway."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.services import (
    CreditLineInput,
    credit_note_create,
    invoice_create,
    invoice_issue,
)
from xero_sync.models import (
    InvoiceSync,
    InvoiceSyncState,
    InvoiceXeroOptions,
    OrganisationSettings,
)
from xero_sync.organisation.invoice_options import invoice_options_refresh

from ..factories import client_for, contact_make
from ..support.exchanges import API, Exchanges
from ..support.invoices import due_in, in_xero, lines

OPTIONS_PAGE = "xero_sync:invoice_options"


def category(stored: OrganisationSettings, name: str) -> dict:
    return next(c for c in stored.tracking_categories if c["name"] == name)


def option_id(stored: OrganisationSettings, category_name: str, option_name: str) -> str:
    found = category(stored, category_name)["options"]
    return next(o["id"] for o in found if o["name"] == option_name)


def theme_id(stored: OrganisationSettings, name: str) -> str:
    return next(t["id"] for t in stored.branding_themes if t["name"] == name)


def defaults_chosen(user, account, stored, *, theme: str, region: str) -> None:
    """As an admin does it on the Xero invoice options page."""
    url = reverse(OPTIONS_PAGE, args=[account.slug])
    response = client_for(user).post(
        url,
        {
            "branding_theme": theme_id(stored, theme),
            f"tracking-{category(stored, 'Region')['id']}": option_id(stored, "Region", region),
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]


def draft(account, gst, contact=None):
    contact = contact or contact_make(
        account, first_name="Ruth", last_name="Tane", email="ruth@x.example"
    )
    return invoice_create(
        account=account,
        contact=contact,
        name="Bathroom repair",
        lines=lines(gst),
        due_date=due_in(22),
    )


def failed(invoice) -> InvoiceSync:
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED, (sync.state, sync.error)
    return sync


@pytest.fixture
def read(ready, xero, account, admin_user):
    """Connected, and the options page opened once (which reads them from Xero)."""
    connection, gst = ready
    assert client_for(admin_user).get(reverse(OPTIONS_PAGE, args=[account.slug])).status_code == 200
    return connection, gst, OrganisationSettings.objects.get(connection=connection)


@pytest.mark.django_db
def test_the_active_tracking_and_the_themes_are_read_from_xero_and_kept(
    read, xero, account, admin_user, staff_user
):
    connection, _, stored = read
    in_xero_now = xero.state(connection.tenant_id, "tracking_categories")["TrackingCategories"]
    active = [c["Name"] for c in in_xero_now if c["Status"] == "ACTIVE"]
    assert [c["name"] for c in stored.tracking_categories] == active == ["Region", "Department"]
    region = [o["name"] for o in category(stored, "Region")["options"]]
    assert region and "West Coast" not in region  # archived in Xero: not offered
    themes = xero.state(connection.tenant_id, "branding_themes")["BrandingThemes"]
    assert sorted(t["name"] for t in stored.branding_themes) == sorted(t["Name"] for t in themes)
    # Kept like the chart of accounts: the page again asks Xero nothing.
    xero.clear_requests()
    client_for(admin_user).get(reverse(OPTIONS_PAGE, args=[account.slug]))
    assert xero.requests(path=f"{API}/*") == []
    # Admins only.
    assert client_for(staff_user).get(reverse(OPTIONS_PAGE, args=[account.slug])).status_code == 403


@pytest.mark.django_db
def test_an_invoice_reaches_xero_with_the_default_theme_and_tracking_and_a_lines_own(
    read, xero, account, admin_user, staff_user, tasks_inline
):
    connection, gst, stored = read
    themes = [t["name"] for t in stored.branding_themes]
    other_theme = themes[-1]
    defaults_chosen(admin_user, account, stored, theme=other_theme, region="North")
    invoice = draft(account, gst)
    second = invoice.lines.order_by("position")[1]
    department = category(stored, "Department")
    a_department = department["options"][0]
    # The second line carries its own tracking (staff may choose it, on the invoice's page).
    url = reverse("xero_sync:invoice_own_options", args=[account.slug, invoice.pk])
    response = client_for(staff_user).post(
        url,
        {
            f"line-{second.pk}-own": "1",
            f"line-{second.pk}-{department['id']}": a_department["id"],
        },
    )
    assert response.status_code == 302
    with tasks_inline():
        invoice_issue(invoice=invoice)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
    held = in_xero(xero, connection, invoice)
    assert held["BrandingThemeID"] == theme_id(stored, other_theme)
    first_line, second_line = held["LineItems"]
    assert [(t["Name"], t["Option"]) for t in first_line["Tracking"]] == [("Region", "North")]
    assert [(t["Name"], t["Option"]) for t in second_line["Tracking"]] == [
        ("Department", a_department["name"])
    ]
    # Credited, line by line and by an amount: each credit note carries the invoice's theme;
    # a credited line carries the tracking of the line it credits, and a credit by amount
    # none, as the invoice's lines differ.
    with tasks_inline():
        credit_note_create(
            invoice=invoice,
            reason="One item not fitted",
            lines=[CreditLineInput(line=second, quantity=Decimal(1))],
        )
        credit_note_create(invoice=invoice, reason="Goodwill", amount=Decimal("5.00"))
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED
    by_line, by_amount = sorted(
        xero.credit_notes(connection.tenant_id), key=lambda c: c["CreditNoteNumber"]
    )
    assert by_line["BrandingThemeID"] == by_amount["BrandingThemeID"] == held["BrandingThemeID"]
    assert [
        [(t["Name"], t["Option"]) for t in line["Tracking"]] for line in by_line["LineItems"]
    ] == [[("Department", a_department["name"])]]
    assert [line.get("Tracking") or [] for line in by_amount["LineItems"]] == [[]]


@pytest.mark.django_db
def test_an_invoices_own_theme_and_tracking_replace_the_defaults(
    read, xero, account, admin_user, tasks_inline
):
    connection, gst, stored = read
    themes = [t["name"] for t in stored.branding_themes]
    defaults_chosen(admin_user, account, stored, theme=themes[-1], region="North")
    invoice = draft(account, gst)
    region = category(stored, "Region")
    other = next(o for o in region["options"] if o["name"] != "North")
    url = reverse("xero_sync:invoice_own_options", args=[account.slug, invoice.pk])
    client_for(admin_user).post(
        url,
        {
            "branding_theme": theme_id(stored, themes[0]),
            "own_tracking": "1",
            f"tracking-{region['id']}": other["id"],
        },
    )
    with tasks_inline():
        invoice_issue(invoice=invoice)
    held = in_xero(xero, connection, invoice)
    assert held["BrandingThemeID"] == theme_id(stored, themes[0])
    assert {t["Option"] for line in held["LineItems"] for t in line["Tracking"]} == {other["name"]}


@pytest.mark.django_db
def test_an_option_archived_in_xero_stops_the_invoice_before_any_call(
    read, xero, account, admin_user, tasks_inline
):
    connection, gst, stored = read
    defaults_chosen(
        admin_user, account, stored, theme=stored.branding_themes[0]["name"], region="North"
    )
    region = category(stored, "Region")
    xero.set_tracking_option_status(
        connection.tenant_id, region["id"], option_id(stored, "Region", "North"), "ARCHIVED"
    )
    invoice_options_refresh(connection, force=True)  # the page read them again, as it would
    xero.clear_requests()
    with tasks_inline():
        invoice = invoice_issue(invoice=draft(account, gst))
    sync = failed(invoice)
    assert sync.error_cause == "tracking"
    assert sync.error.startswith(
        f"Invoice {invoice.number} uses a Region tracking option that is no longer active in "
        "Xero, so Xero would refuse it. Have an admin choose another default"
    )
    assert sync.fix_url == reverse(OPTIONS_PAGE, args=[account.slug])
    assert xero.requests(path=f"{API}/*") == []


@pytest.mark.django_db
def test_a_theme_deleted_in_xero_stops_the_invoice_before_any_call(
    read, xero, account, admin_user, tasks_inline
):
    connection, gst, stored = read
    invoice = draft(account, gst)
    gone = stored.branding_themes[-1]
    url = reverse("xero_sync:invoice_own_options", args=[account.slug, invoice.pk])
    client_for(admin_user).post(url, {"branding_theme": gone["id"]})
    xero.delete_branding_theme(connection.tenant_id, gone["id"])
    invoice_options_refresh(connection, force=True)
    xero.clear_requests()
    with tasks_inline():
        invoice_issue(invoice=invoice)
    sync = failed(invoice)
    assert sync.error_cause == "branding_theme"
    assert "uses a branding theme Xero no longer has" in sync.error
    assert "Choose another on this invoice's Xero options" in sync.error
    assert sync.fix_url == url
    assert xero.requests(path=f"{API}/*") == []


@pytest.mark.django_db
def test_sent_anyway_xero_refuses_an_archived_option_and_a_gone_theme(
    read, xero, account, admin_user, tasks_inline
):
    """What we last read says active (archived since, unread): Xero refuses, the settings are
    read again, and the failure is in the same plain words."""
    connection, gst, stored = read
    defaults_chosen(
        admin_user, account, stored, theme=stored.branding_themes[-1]["name"], region="North"
    )
    region = category(stored, "Region")
    xero.set_tracking_option_status(
        connection.tenant_id, region["id"], option_id(stored, "Region", "North"), "ARCHIVED"
    )
    with tasks_inline():
        invoice = invoice_issue(invoice=draft(account, gst))
    sync = failed(invoice)
    assert sync.error_cause == "tracking", sync.error
    assert "no longer active in Xero" in sync.error
    assert [r["status"] for r in xero.requests(method="POST", path=f"{API}/Invoices")] == [200]
    assert xero.invoices(connection.tenant_id) == []
    stored.refresh_from_db()
    assert "North" not in [o["name"] for o in category(stored, "Region")["options"]]

    # The theme: the default deleted in Xero, the tracking default cleared.
    theme = stored.default_branding_theme_id
    client_for(admin_user).post(
        reverse(OPTIONS_PAGE, args=[account.slug]), {"branding_theme": theme}
    )
    xero.delete_branding_theme(connection.tenant_id, theme)
    xero.clear_requests()
    with tasks_inline():
        again = invoice_issue(invoice=draft(account, gst, invoice.contact))
    sync = failed(again)
    assert sync.error_cause == "branding_theme", sync.error
    assert [r["status"] for r in xero.requests(method="POST", path=f"{API}/Invoices")] == [200]


@pytest.mark.django_db
def test_the_calls_for_tracking_and_themes_keep_to_xeros_contract(
    read, xero, account, admin_user, tasks_inline
):
    connection, gst, stored = read
    defaults_chosen(
        admin_user, account, stored, theme=stored.branding_themes[-1]["name"], region="North"
    )
    log = Exchanges(xero)
    invoice_options_refresh(connection, force=True)
    with tasks_inline():
        invoice_issue(invoice=draft(account, gst))
    log.validated(
        expect=[
            ("GET", f"{API}/TrackingCategories", 200),
            ("GET", f"{API}/BrandingThemes", 200),
            ("POST", f"{API}/Invoices", 200),
        ]
    )


@pytest.mark.django_db
def test_a_theme_changed_on_an_invoice_in_xero_is_sent_again(
    read, xero, account, admin_user, tasks_inline
):
    connection, gst, stored = read
    with tasks_inline():
        invoice = invoice_issue(invoice=draft(account, gst))
    first, second = stored.branding_themes
    assert in_xero(xero, connection, invoice)["BrandingThemeID"] == first["id"]  # Xero's default
    url = reverse("xero_sync:invoice_own_options", args=[account.slug, invoice.pk])
    with tasks_inline():
        client_for(admin_user).post(url, {"branding_theme": second["id"]})
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED
    assert in_xero(xero, connection, invoice)["BrandingThemeID"] == second["id"]


@pytest.mark.django_db
def test_another_accounts_invoice_has_no_options_page(read, account, outsider, other_account):
    """An admin of another account, through their own account's address: not found."""
    _, gst, _ = read
    invoice = draft(account, gst)
    url = reverse("xero_sync:invoice_own_options", args=[other_account.slug, invoice.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url, {"branding_theme": "x"}).status_code == 404


@pytest.mark.django_db
def test_a_theme_or_option_not_of_the_organisation_is_refused_and_nothing_saved(
    read, account, admin_user
):
    _, gst, stored = read
    invoice = draft(account, gst)
    url = reverse("xero_sync:invoice_own_options", args=[account.slug, invoice.pk])
    region = category(stored, "Region")
    for posted, said in (
        ({"branding_theme": "not-a-theme"}, "That branding theme is not one of the"),
        (
            {"own_tracking": "1", f"tracking-{region['id']}": "not-an-option"},
            "That tracking option is not an active one of the",
        ),
    ):
        response = client_for(admin_user).post(url, posted)
        assert response.status_code == 200 and said in response.content.decode()
    assert not InvoiceXeroOptions.objects.filter(invoice=invoice).exists()
