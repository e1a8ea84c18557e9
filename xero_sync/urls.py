from django.urls import path

from . import views
from .connection import views as connection_views
from .contacts import views as contacts_views
from .inbound import views as inbound_views
from .invoices import past_views
from .invoices import views as invoice_views
from .items import views as items_views
from .ops import activity, failures
from .organisation import views as organisation_views
from .reconcile import views as reconcile_views
from .taxes import views as tax_views
from .webhooks import views as webhook_views

app_name = "xero_sync"
# Account-scoped: mounted under /a/<account_slug>/settings/integrations/.
urlpatterns = [
    path("", views.integration_index, name="integrations"),
    path("xero/connect/", connection_views.xero_connect, name="connect"),
    path("xero/organisation/", connection_views.xero_organisation, name="organisation"),
    path("xero/cancel/", connection_views.xero_cancel, name="cancel"),
    path("xero/payment-account/", connection_views.xero_payment_account, name="payment_account"),
    path("xero/sales-account/", connection_views.xero_sales_account, name="sales_account"),
    path("xero/taxes/", tax_views.xero_tax_mapping, name="tax_mapping"),
    path("xero/invoice-options/", organisation_views.xero_invoice_options, name="invoice_options"),
    path(
        "xero/invoices/<int:invoice_pk>/options/",
        organisation_views.xero_invoice_own_options,
        name="invoice_own_options",
    ),
    path("xero/items/refresh/", items_views.xero_items_refresh, name="items_refresh"),
    path("xero/contacts/", contacts_views.xero_contacts, name="contacts"),
    path("xero/contacts/to-xero/", contacts_views.xero_contact_sync, name="contact_sync"),
    path(
        "xero/contacts/<int:pk>/retry/",
        contacts_views.contact_push_retry,
        name="contact_push_retry",
    ),
    path("xero/setup/contacts/", views.xero_setup_contacts, name="setup_contacts"),
    path("xero/earlier-invoices/", invoice_views.xero_earlier_invoices, name="earlier_invoices"),
    path("xero/past-invoices/", past_views.xero_past_invoices, name="past_invoices"),
    path(
        "xero/past-invoices/<int:run_pk>/",
        past_views.xero_past_invoices_progress,
        name="past_invoices_progress",
    ),
    path(
        "xero/contacts/imports/<int:pk>/",
        contacts_views.xero_contact_import_progress,
        name="import_progress",
    ),
    path("xero/invoices/<int:pk>/retry/", invoice_views.invoice_sync_retry, name="invoice_retry"),
    path(
        "xero/invoices/<int:pk>/add-currency/",
        invoice_views.invoice_sync_add_currency,
        name="invoice_add_currency",
    ),
    path("xero/invoices/<int:pk>/email/", invoice_views.invoice_sync_email, name="invoice_email"),
    path(
        "xero/invoices/<int:pk>/online-link/",
        invoice_views.invoice_sync_online_link,
        name="invoice_online_link",
    ),
    path(
        "xero/invoices/<int:invoice_pk>/badge/",
        invoice_views.invoice_sync_badge,
        name="invoice_badge",
    ),
    path(
        "xero/invoices/<int:pk>/renumber/",
        invoice_views.invoice_sync_renumber,
        name="invoice_renumber",
    ),
    path("xero/activity/", activity.xero_activity, name="activity"),
    path(
        "xero/activity/technical/",
        activity.xero_activity_technical,
        name="activity_technical",
    ),
    path("xero/failures/", failures.xero_failures, name="failures"),
    path("xero/failures/retry/", failures.xero_failures_retry, name="failures_retry"),
    path(
        "xero/failures/held/<int:pk>/retry/",
        inbound_views.xero_quarantine_retry,
        name="quarantine_retry",
    ),
    path(
        "xero/failures/duplicates/<int:pk>/",
        contacts_views.xero_duplicate_resolve,
        name="duplicate_resolve",
    ),
    path("xero/reconcile/", reconcile_views.xero_reconcile, name="reconcile"),
    path("xero/disconnect/", connection_views.xero_disconnect, name="disconnect"),
    path("xero/keep/", connection_views.xero_keep, name="keep"),
]

# Fixed URLs Xero calls (one redirect URI and one webhook URL for every account).
public_urlpatterns = [
    path("xero/callback/", connection_views.xero_callback, name="xero_callback"),
    path("xero/webhooks/", webhook_views.xero_webhook, name="xero_webhook"),
]
