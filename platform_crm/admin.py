from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User as AuthUser

from .models import Account, Membership


class MembershipInline(admin.TabularInline[Membership, Account]):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    list_display = ["name", "slug", "country", "currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "account__name"]
    autocomplete_fields = ["user", "account"]


# Users with their memberships on one page.
User = get_user_model()
admin.site.unregister(User)


class UserMembershipInline(admin.TabularInline[Membership, AuthUser]):
    model = Membership
    extra = 0
    autocomplete_fields = ["account"]


@admin.register(User)
class PlatformUserAdmin(UserAdmin[AuthUser]):
    inlines = [UserMembershipInline]
