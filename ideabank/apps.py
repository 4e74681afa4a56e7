from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdeabankConfig(AppConfig):
    name = "ideabank"
    verbose_name = _("Idébanken")

    def ready(self) -> None:
        from ideabank import checks  # noqa: F401  (registers the checks)
