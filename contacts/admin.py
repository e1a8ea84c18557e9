from django.contrib import admin

from .models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = ["display_name", "email", "phone_e164", "account", "is_archived"]
    list_filter = ["is_archived", "is_customer", "is_supplier"]
    search_fields = ["first_name", "last_name", "company_name", "email", "phone_e164"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]
