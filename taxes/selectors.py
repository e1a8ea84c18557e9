from .models import TaxRate


def tax_rate_list(account):
    return TaxRate.objects.filter(account=account).prefetch_related("components")
