from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Consonance and Exstream integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integration.communications import dispatch
        from integration.connectors.consonance import register_schedule
        from integration.lib import schedules
        from integration.status import writeback  # noqa: F401  (registers its outbox handler)

        register_schedule()
        dispatch.register()

        post_migrate.connect(schedules.ensure_schedules, sender=self)
