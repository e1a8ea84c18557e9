from django.db.models import QuerySet

from platform_crm.models import Account

from .models import TaxRate


def tax_rate_list(account: Account) -> QuerySet[TaxRate]:
    # The accounting integration keeps each rate's mapping under the reverse relation
    # `xero_mapping`; this app only reads it by name, for the list's "In Xero" column.
    return (
        TaxRate.objects.filter(account=account)
        .select_related("xero_mapping")
        .prefetch_related("components")
    )
