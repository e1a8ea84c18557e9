"""Tracking categories and branding themes on invoices: read from Xero into the connection's
settings (OrganisationSettings), an admin's defaults for the connection, an invoice's own choices
over them (InvoiceXeroOptions), and what a given invoice carries once both are weighed."""

from dataclasses import dataclass

from django.utils import timezone

from invoices.models import Invoice

from ..client.shapes import LineTracking
from ..connection.calls import xero_client_for
from ..models import XeroConnection
from .models import InvoiceXeroOptions, OrganisationSettings
from .services import organisation_settings, stale

MAX_TRACKING = 2  # Xero's limit of tracking categories on a line


def invoice_options_refresh(
    connection: XeroConnection, *, force: bool = False
) -> OrganisationSettings:
    """GET /TrackingCategories (active only) and GET /BrandingThemes when stale (or `force`)."""
    stored = organisation_settings(connection)
    if force or stale(stored.invoice_options_read_at):
        client = xero_client_for(connection)
        stored.tracking_categories = [
            {
                "id": c.id,
                "name": c.name,
                "options": [{"id": o.id, "name": o.name} for o in c.options],
            }
            for c in client.tracking_categories()
        ]
        stored.branding_themes = [{"id": t.id, "name": t.name} for t in client.branding_themes()]
        stored.invoice_options_read_at = timezone.now()
        stored.save(
            update_fields=["tracking_categories", "branding_themes", "invoice_options_read_at"]
        )
    return stored


def _pairs(tracking: object) -> list[dict[str, str]]:
    """[{"category_id", "option_id"}] checked for shape: at most two, each category once."""
    if not isinstance(tracking, list | tuple):
        raise ValueError("Tracking is a list of (category, option) choices.")
    pairs, seen = [], set()
    for pair in tracking:
        category_id, option_id = (pair["category_id"], pair["option_id"])
        if not category_id or not option_id:
            continue
        if category_id in seen:
            raise ValueError("A tracking category can be chosen once.")
        seen.add(category_id)
        pairs.append({"category_id": str(category_id), "option_id": str(option_id)})
    if len(pairs) > MAX_TRACKING:
        raise ValueError(f"Xero takes at most {MAX_TRACKING} tracking categories on a line.")
    return pairs


def invoice_defaults_set(
    stored: OrganisationSettings, *, branding_theme_id: str, tracking: list[dict[str, str]]
) -> None:
    """An admin's defaults for the connection, among what was read from Xero."""
    pairs = _pairs(tracking)
    themes = {t["id"] for t in stored.branding_themes}
    if branding_theme_id and branding_theme_id not in themes:
        raise ValueError("That branding theme is not one of the organisation's.")
    for pair in pairs:
        if _names(stored, pair) is None:
            raise ValueError("That tracking option is not an active one of the organisation's.")
    stored.default_branding_theme_id = branding_theme_id
    stored.default_tracking = pairs
    stored.save(update_fields=["default_branding_theme_id", "default_tracking"])


def invoice_options_set(
    invoice: Invoice,
    stored: OrganisationSettings,
    *,
    branding_theme_id: str = "",
    tracking: list[dict[str, str]] | None = None,
    line_tracking: dict[int, list[dict[str, str]]] | None = None,
) -> InvoiceXeroOptions:
    """The invoice's own theme and tracking (None/"" keep the connection's default); a line's
    tracking replaces the invoice's for that line."""
    if branding_theme_id and branding_theme_id not in {t["id"] for t in stored.branding_themes}:
        raise ValueError("That branding theme is not one of the organisation's.")
    chosen = [*(tracking or []), *(p for ps in (line_tracking or {}).values() for p in ps)]
    if any(_names(stored, _pairs([pair])[0]) is None for pair in chosen if pair["option_id"]):
        raise ValueError("That tracking option is not an active one of the organisation's.")
    line_ids = set(invoice.lines.values_list("pk", flat=True))
    lines = {}
    for line_id, pairs in (line_tracking or {}).items():
        if line_id not in line_ids:
            raise ValueError("That line is not one of the invoice's.")
        lines[str(line_id)] = _pairs(pairs)
    options, _ = InvoiceXeroOptions.objects.update_or_create(
        invoice=invoice,
        defaults={
            "branding_theme_id": branding_theme_id,
            "tracking": _pairs(tracking or []),
            "tracking_set": tracking is not None,
            "line_tracking": lines,
        },
    )
    return options


def _names(stored: OrganisationSettings | None, pair: dict[str, str]) -> tuple[str, str] | None:
    """The category's and option's names, when both are still active as last read."""
    for category in stored.tracking_categories if stored else []:
        if category["id"] == pair["category_id"]:
            for option in category["options"]:
                if option["id"] == pair["option_id"]:
                    return category["name"], option["name"]
    return None


@dataclass(frozen=True)
class Chosen:
    """What an invoice carries: its theme and each line's tracking, with where each came from
    ("default" or "invoice") for the pre-flight's fix."""

    branding_theme_id: str
    theme_from: str
    lines: dict[int, tuple[list[dict[str, str]], str]]


def invoice_chosen(invoice: Invoice, stored: OrganisationSettings | None) -> Chosen:
    own = InvoiceXeroOptions.objects.filter(invoice=invoice).first()
    theme, theme_from = (
        (own.branding_theme_id, "invoice")
        if own and own.branding_theme_id
        else (
            stored.default_branding_theme_id if stored else "",
            "default",
        )
    )
    if own and own.tracking_set:
        base, base_from = list(own.tracking), "invoice"
    else:
        base, base_from = list(stored.default_tracking if stored else []), "default"
    lines = {}
    for line in invoice.lines.all():
        mine = own.line_tracking.get(str(line.pk)) if own else None
        lines[line.pk] = (list(mine), "invoice") if mine is not None else (base, base_from)
    return Chosen(theme, theme_from, lines)


def line_tracking(
    stored: OrganisationSettings | None, pairs: list[dict[str, str]]
) -> tuple[LineTracking, ...]:
    """The Tracking a line is sent with: IDs, and the names when known."""
    sent = []
    for pair in pairs:
        names = _names(stored, pair) or ("", "")
        sent.append(LineTracking(pair["category_id"], names[0], pair["option_id"], names[1]))
    return tuple(sent)


def tracking_missing(stored: OrganisationSettings, pair: dict[str, str]) -> str | None:
    """Why a chosen option cannot be used, in plain words (None: it can)."""
    if _names(stored, pair) is not None:
        return None
    for category in stored.tracking_categories:
        if category["id"] == pair["category_id"]:
            return f"a {category['name']} tracking option that is no longer active in Xero"
    return "a tracking category that is no longer active in Xero"
