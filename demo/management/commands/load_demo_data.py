from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.data import DEMO_PASSWORD, demo_data_load


class Command(BaseCommand):
    help = "Load the demo accounts, users, contacts and tax rates (idempotent; development only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--force", action="store_true", help="Load even though DEBUG is off.")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo users have a published password: refusing with DEBUG off.")
        logins = demo_data_load()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        for username, roles in logins:
            self.stdout.write(f"  {username} / {DEMO_PASSWORD}   ({roles})")
