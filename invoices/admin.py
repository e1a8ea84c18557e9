from django.contrib import admin

from .models import Invoice, InvoiceLine, InvoiceNumbering, Payment


class InvoiceLineInline(admin.TabularInline[InvoiceLine, Invoice]):
    model = InvoiceLine
    extra = 0
    readonly_fields = ["line_amount", "tax_amount"]
    raw_id_fields = ["tax_rate"]


class PaymentInline(admin.TabularInline[Payment, Invoice]):
    model = Payment
    extra = 0
    raw_id_fields = ["recorded_by"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin[Invoice]):
    # Read-mostly: writes belong to invoices.services, which recompute totals and send signals.
    list_display = ["number", "account", "contact", "status", "issue_date", "total", "amount_paid"]
    list_filter = ["status", "tax_mode"]
    search_fields = ["number", "name"]
    list_select_related = ["account", "contact"]
    raw_id_fields = ["account", "contact"]
    readonly_fields = ["subtotal", "total_tax", "total", "amount_paid", "status"]
    inlines = [InvoiceLineInline, PaymentInline]


@admin.register(InvoiceNumbering)
class InvoiceNumberingAdmin(admin.ModelAdmin[InvoiceNumbering]):
    list_display = ["account", "prefix", "next_number"]
    raw_id_fields = ["account"]
