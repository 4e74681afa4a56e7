from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InitiativesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "initiatives"
    verbose_name = _("Initiatives")

    def ready(self) -> None:
        from initiatives import engine, facets, history, statistics

        engine.connect_signals()
        engine.catalogue_changed.connect(statistics.queue_warming, dispatch_uid="statistics-warm")
        facets.connect_signals()
        history.register()
