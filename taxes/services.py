from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from platform_crm.models import Account

from .models import TaxComponent, TaxRate
from .signals import tax_rate_saved

MAX_COMPONENTS = 6  # as Xero allows


def _validate_components(components: list[tuple[str, Decimal, bool]]) -> None:
    if not components:
        raise ValidationError("A tax rate needs at least one component.")
    if len(components) > MAX_COMPONENTS:
        raise ValidationError(f"A tax rate has at most {MAX_COMPONENTS} components.")
    if sum(1 for _, _, compound in components if compound) > 1:
        raise ValidationError("Only one component can be compound (as in Xero).")


def _save(tax_rate: TaxRate, components: list[tuple[str, Decimal, bool]]) -> TaxRate:
    try:
        with transaction.atomic():
            tax_rate.save()
            tax_rate.components.all().delete()
            TaxComponent.objects.bulk_create(
                TaxComponent(
                    tax_rate=tax_rate, name=name, rate=rate, is_compound=compound, position=i
                )
                for i, (name, rate, compound) in enumerate(components)
            )
            tax_rate_saved.send(sender=TaxRate, tax_rate=tax_rate)
    except IntegrityError as error:
        raise ValidationError({"name": "Another tax rate already has this name."}) from error
    return tax_rate


def tax_rate_create(
    *,
    account: Account,
    name: str,
    components: list[tuple[str, Decimal, bool]],
    is_active: bool = True,
) -> TaxRate:
    _validate_components(components)
    return _save(TaxRate(account=account, name=name.strip(), is_active=is_active), components)


def tax_rate_update(
    *, tax_rate: TaxRate, name: str, components: list[tuple[str, Decimal, bool]], is_active: bool
) -> TaxRate:
    _validate_components(components)
    tax_rate.name, tax_rate.is_active = name.strip(), is_active
    return _save(tax_rate, components)
