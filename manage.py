#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load settings now, to explain a bad configuration
    except ImproperlyConfigured as exc:
        sys.stderr.write(
            f"Colophon is not configured: {exc}\n"
            "For local development run `make run` once (it writes a .env with DEBUG=true) or set "
            "DEBUG=true; for production see .env.example.\n"
        )
        sys.exit(2)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
