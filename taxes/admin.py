from django.contrib import admin

from .models import TaxComponent, TaxRate


class TaxComponentInline(admin.TabularInline[TaxComponent, TaxRate]):
    model = TaxComponent
    extra = 1


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin[TaxRate]):
    list_display = ["name", "account", "effective_rate", "is_active"]
    list_filter = ["is_active"]
    raw_id_fields = ["account"]
    inlines = [TaxComponentInline]
