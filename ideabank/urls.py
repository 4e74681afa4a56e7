from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from ideabank import views

admin.site.site_header = admin.site.site_title = settings.SITE_NAME

urlpatterns = [
    # The language switch posts here; it is the same for every language.
    path("i18n/", include("django.conf.urls.i18n")),
]

# Bokmål without a prefix, English under /en/.
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("om/", views.about, name="about"),
    path("tilgjengelighet/", views.accessibility, name="accessibility"),
    path("personvern/", views.privacy, name="privacy"),
    path("admin/", admin.site.urls),
    path("", include("initiatives.urls")),
    prefix_default_language=False,
)
