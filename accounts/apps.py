from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from accounts.ids import IdConverter

        # ``<id:pk>``: an object id that fits the database; registered once, before any URLconf.
        register_converter(IdConverter, "id")
