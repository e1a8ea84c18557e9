"""Mapping the CRM's tax rates to the organisation's Xero tax rates.

Only rates of equal effective rate (Decimal, 4 dp) can be mapped, and the product never creates
tax rates in Xero. Xero's rates are read on demand (Refresh) and kept as XeroTaxRate rows; every
refresh, and every edit of a CRM rate, re-checks the mappings and flags the broken ones instead
of letting invoices use them.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from platform_crm.models import Account
from taxes.models import TaxRate

from ..connection.calls import xero_client_for
from ..inbound import normalise
from ..inbound.quarantine import Held, quarantine_hold, quarantine_release
from ..models import QuarantineKind, XeroConnection
from .mapping import broken_reason, rate_places, tax_rate_from_xero
from .models import TaxMapping, XeroTaxRate


def xero_tax_rates_refresh(connection: XeroConnection) -> list[XeroTaxRate]:
    """Read Xero's tax rates, replace the stored copy, and re-check every mapping. A rate that
    cannot be stored (say, one beyond 9,999.9999%) is quarantined; the others are kept."""
    fetched = xero_client_for(connection).tax_rates()
    now = timezone.now()
    rows, held = [], []
    for raw in fetched:
        try:
            rows.append(tax_rate_from_xero(connection, raw, now))
        except normalise.Unstorable as unstorable:
            fields = raw if isinstance(raw, dict) else {}
            tax_type = normalise.text(fields.get("TaxType"))
            held.append(
                Held(
                    kind=QuarantineKind.TAX_RATE,
                    raw=raw,
                    reason=f"The CRM could not store this tax rate: {unstorable}.",
                    xero_id=tax_type,
                    label=normalise.text(fields.get("Name")) or tax_type,
                )
            )
    with transaction.atomic():
        connection.tax_rates.all().delete()
        rows = XeroTaxRate.objects.bulk_create(rows)
        mappings_recheck(connection)
        quarantine_release(
            connection=connection,
            kind=QuarantineKind.TAX_RATE,
            xero_ids=[r.tax_type for r in rows],
            resolution="Stored by a later refresh",
        )
        quarantine_hold(connection=connection, held=held, source="tax rates")
    return rows


def mappings_recheck(connection: XeroConnection) -> None:
    xero_rates = {r.tax_type: r for r in connection.tax_rates.all()}
    if not xero_rates:
        return  # never read yet: nothing to compare against
    mappings = TaxMapping.objects.filter(tax_rate__account=connection.account).select_related(
        "tax_rate"
    )
    for mapping in mappings.prefetch_related("tax_rate__components"):
        reason = broken_reason(mapping, xero_rates)
        if reason != mapping.broken_reason:
            mapping.broken_reason = reason
            mapping.save(update_fields=["broken_reason"])


@dataclass(frozen=True)
class MappingRow:
    tax_rate: TaxRate
    mapping: TaxMapping | None
    options: list[XeroTaxRate]  # Xero rates of equal effective rate, usable on sales

    @property
    def status(self) -> str:
        if self.mapping is None:
            return "unmapped" if self.options else "no_equal_rate"
        return "broken" if self.mapping.is_broken else "mapped"


def mapping_rows(connection: XeroConnection) -> list[MappingRow]:
    usable = [r for r in connection.tax_rates.all() if r.usable_on_sales]
    rates = (
        TaxRate.objects.filter(account=connection.account, is_active=True)
        .prefetch_related("components")
        .select_related("xero_mapping")
    )
    rows = []
    for tax_rate in rates:
        effective = rate_places(tax_rate.effective_rate)
        options = [r for r in usable if rate_places(r.effective_rate) == effective]
        rows.append(MappingRow(tax_rate, getattr(tax_rate, "xero_mapping", None), options))
    return rows


def tax_mapping_set(
    *, connection: XeroConnection, tax_rate: TaxRate, xero_tax_type: str, user: User | None
) -> TaxMapping:
    if tax_rate.account_id != connection.account_id:
        raise ValidationError("That tax rate belongs to another account.")
    # Compared here, not in SQL: the posted type may hold what PostgreSQL refuses (NUL).
    xero = next((r for r in connection.tax_rates.all() if r.tax_type == xero_tax_type), None)
    if xero is None or not xero.usable_on_sales:
        raise ValidationError(f"Xero has no active sales tax rate {xero_tax_type[:50]!r}; refresh.")
    ours, theirs = rate_places(tax_rate.effective_rate), rate_places(xero.effective_rate)
    if ours != theirs:
        raise ValidationError(
            f"{tax_rate.name} ({ours.normalize():f}%) cannot be mapped to {xero.name} "
            f"({theirs.normalize():f}%): only equal rates can be mapped."
        )
    mapping, _ = TaxMapping.objects.update_or_create(
        tax_rate=tax_rate,
        defaults={
            "xero_tax_type": xero.tax_type,
            "xero_name": xero.name,
            "effective_rate": ours,
            "broken_reason": "",
            "mapped_by": user,
        },
    )
    return mapping


def tax_mapping_clear(*, tax_rate: TaxRate) -> None:
    TaxMapping.objects.filter(tax_rate=tax_rate).delete()


@dataclass
class MappingsSaved:
    mapped: list[str] = field(default_factory=list)  # "GST 15% to GST on Income"
    cleared: list[str] = field(default_factory=list)  # names of rates no longer mapped
    refused: list[str] = field(default_factory=list)  # why, one sentence per rate


def tax_mappings_save(
    *, connection: XeroConnection, chosen: dict[int, str], user: User | None
) -> MappingsSaved:
    """The mapping page's one form: each CRM rate (by id) to the Xero tax type chosen for it,
    or unmapped for "". Rows left as they were are not touched (a broken mapping stays
    flagged); a refused row does not stop the others."""
    saved = MappingsSaved()
    known = set(connection.tax_rates.values_list("tax_type", flat=True))
    for row in mapping_rows(connection):
        tax_type = chosen.get(row.tax_rate.pk)
        current = row.mapping.xero_tax_type if row.mapping else ""
        if tax_type is None or tax_type == current:
            continue
        if not tax_type:
            tax_mapping_clear(tax_rate=row.tax_rate)
            saved.cleared.append(row.tax_rate.name)
            continue
        if tax_type not in known:  # checked here: a forged value never reaches a query
            saved.refused.append(
                f"{row.tax_rate.name}: choose one of the Xero rates offered (refresh if "
                "Xero's rates changed)."
            )
            continue
        try:
            mapping = tax_mapping_set(
                connection=connection, tax_rate=row.tax_rate, xero_tax_type=tax_type, user=user
            )
        except ValidationError as refused:
            saved.refused.append(" ".join(refused.messages))
            continue
        saved.mapped.append(f"{row.tax_rate.name} to {mapping.xero_name}")
    return saved


def unmapped_tax_rates(account: Account) -> list[TaxRate]:
    """Active CRM rates an invoice could not be pushed with: no mapping, or a broken one."""
    return [
        rate
        for rate in TaxRate.objects.filter(account=account, is_active=True).select_related(
            "xero_mapping"
        )
        if getattr(rate, "xero_mapping", None) is None or rate.xero_mapping.is_broken
    ]


def mapped_tax_rates(connection: XeroConnection) -> dict[str, TaxRate]:
    """Xero tax type -> the CRM tax rate mapped to it (the first, when several are)."""
    rates: dict[str, TaxRate] = {}
    for mapping in (
        TaxMapping.objects.filter(tax_rate__account_id=connection.account_id, broken_reason="")
        .select_related("tax_rate")
        .order_by("tax_rate_id")
    ):
        rates.setdefault(mapping.xero_tax_type, mapping.tax_rate)
    return rates
