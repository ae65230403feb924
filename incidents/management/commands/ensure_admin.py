"""Create the first admin login (if there is none) and print it, for a first run."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from incidents.models import Page
from incidents.permissions import ensure_engineer_group


class Command(BaseCommand):
    help = "Create an admin superuser with a random password if no superuser exists; print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username="admin", **options):
        ensure_engineer_group()
        User = get_user_model()
        password_file = "var/admin-password.txt"
        if User.objects.filter(is_superuser=True).exists():
            try:
                with open(password_file) as f:
                    self.stdout.write(f"Admin login: {username} / {f.read().strip()}")
            except OSError:
                self.stdout.write("An admin user exists already (password unchanged).")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username, f"{username}@example.com", password)
        for page in Page.objects.all():
            page.engineers.add(user, through_defaults={"role": "page_manager"})
        import os

        os.makedirs("var", exist_ok=True)
        with open(password_file, "w") as f:
            f.write(password)
        self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}"))
