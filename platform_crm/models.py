"""Tenancy: an Account is one business using the CRM; a Membership gives a user a role in it."""

from django.conf import settings
from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=200)
    # The account's handle in URLs: /a/<slug>/...
    slug = models.SlugField(max_length=60, unique=True)
    # ISO 3166-1 alpha-2; the default region for reading phone numbers written without +CC.
    country = models.CharField(max_length=2, default="NZ")
    currency = models.CharField(max_length=3, default="NZD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"  # may manage integrations and settings
    STAFF = "staff", "Staff"  # contacts, invoices, payments


class Membership(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="one_membership_per_user")
        ]
        ordering = ["account__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
