"""The project's routes, found by walking the URL resolver: shared by the tests that must cover
every route (tenancy, bad input), so a new view is covered the moment it is routed."""

from django.urls import URLPattern, URLResolver, get_resolver


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
