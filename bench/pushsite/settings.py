"""Production settings plus the bench's insert-only URL (nothing else differs)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pushsite.urls"
