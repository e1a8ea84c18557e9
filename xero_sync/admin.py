from django.contrib import admin
from django.http import HttpRequest

from .models import WebhookDelivery, WebhookEvent, XeroCall, XeroConnection


@admin.register(XeroConnection)
class XeroConnectionAdmin(admin.ModelAdmin[XeroConnection]):
    list_display = ["account", "tenant_name", "status", "last_activity_at"]
    list_filter = ["status"]
    search_fields = ["account__name", "tenant_name", "tenant_id"]
    # Tokens never appear in the admin, not even encrypted.
    exclude = ["access_token_encrypted", "refresh_token_encrypted"]
    readonly_fields = [
        f.name
        for f in XeroConnection._meta.fields
        if f.name not in ("access_token_encrypted", "refresh_token_encrypted", "id")
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(XeroCall)
class XeroCallAdmin(admin.ModelAdmin[XeroCall]):
    list_display = [
        "created_at",
        "connection",
        "operation",
        "outcome",
        "status_code",
        "duration_ms",
    ]
    list_filter = ["outcome", "operation"]
    list_select_related = ["connection__account"]
    readonly_fields = [f.name for f in XeroCall._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A record of calls made; one added by hand is meaningless (and lacks its duration).
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ["received_at", "event_count", "processed_at", "error"]
    exclude = ["body"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ["category", "event_type", "resource_id", "tenant_id", "outcome", "processed_at"]
    list_filter = ["category", "outcome"]
