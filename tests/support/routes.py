"""The project's routes, found by walking the URL resolver: shared by the tests that must cover
every route (tenancy, bad input), so a new view is covered the moment it is routed."""

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ..factories import (
    contact_import_make,
    contact_make,
    invoice_make,
    past_invoice_import_make,
    payment_make,
    product_make,
    tax_rate_make,
)


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, prefix + str(entry.pattern), entry


def all_routes():
    """(name, route, URLPattern) for every named route of the project."""
    return list(_walk(get_resolver().url_patterns))


ACCOUNT_PREFIX = "a/<slug:account_slug>/"


# (namespace, URL parameter) -> builds a real object of `account` and returns the parameter.
SAMPLES = {
    ("contacts", "pk"): lambda account: contact_make(account).pk,
    ("taxes", "pk"): lambda account: tax_rate_make(account).pk,
    ("invoices", "pk"): lambda account: invoice_make(account).pk,
    ("invoices", "payment_pk"): lambda account: payment_make(account).pk,
    ("invoices", "product_pk"): lambda account: product_make(account).pk,
    ("xero_sync", "pk"): lambda account: contact_import_make(account).pk,
    ("xero_sync", "invoice_pk"): lambda account: invoice_make(account).pk,
    ("xero_sync", "run_pk"): lambda account: past_invoice_import_make(account).pk,
}


def route_url(name, pattern: URLPattern, account):
    namespace = name.rpartition(":")[0]
    kwargs = {"account_slug": account.slug}
    for param in pattern.pattern.converters:
        if param in kwargs:
            continue
        sample = SAMPLES.get((namespace, param))
        assert sample, f"add a sample for {(namespace, param)!r} to SAMPLES in support/routes.py"
        kwargs[param] = sample(account)
    return reverse(name, kwargs=kwargs)
