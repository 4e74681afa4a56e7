from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from ideabank import api_docs, sitemaps, views
from ideabank.api import api

admin.site.site_header = admin.site.site_title = settings.SITE_NAME

account_patterns = [
    path("registrer/", views.signup, name="signup"),
    path("registrer/sendt/", views.signup_done, name="signup_done"),
    # Before the token pattern, which would take "send" for a token.
    path("bekreft/send/", views.resend_confirmation, name="resend_confirmation"),
    path("bekreft/<str:token>/", views.confirm_email, name="confirm_email"),
    path("logg-inn/", views.login, name="login"),
    path("logg-ut/", views.logout, name="logout"),
    path("profil/", views.profile, name="profile"),
    path("profil/mine-data/", views.my_data_download, name="my_data"),
    path("profil/slett/", views.account_delete, name="account_delete"),
    path("slettet/", views.account_deleted, name="account_deleted"),
    path("passord/", views.password_change, name="password_change"),
    path("passord/endret/", views.password_change_done, name="password_change_done"),
    path("glemt-passord/", views.password_reset, name="password_reset"),
    path("glemt-passord/sendt/", views.password_reset_done, name="password_reset_done"),
    path(
        "glemt-passord/ny/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("glemt-passord/ferdig/", views.password_reset_complete, name="password_reset_complete"),
]

urlpatterns = [
    # The read-only JSON API: one address for both languages (?lang=en; ideabank/api.py).
    # Its documentation is a page of the site (ideabank/api_docs.py); the old address leads there.
    path("api/v1/docs", api_docs.docs_redirect),
    path("api/v1/", api.urls),
    # The language switch posts here; it is the same for every language.
    path("i18n/", include("django.conf.urls.i18n")),
    # For search engines, outside the language prefixes (ideabank/sitemaps.py).
    path("robots.txt", sitemaps.robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": sitemaps.SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": sitemaps.SITEMAPS},
        name="sitemap_section",
    ),
    # The DCAT-AP-NO description of the open data (ideabank/open_data.py): stable addresses
    # for the national data catalogue, the same in every language.
    path("data/katalog", views.dcat_catalogue, name="dcat_catalogue"),
    path("data/katalog.ttl", views.dcat_turtle, name="dcat_turtle"),
    path("data/katalog.jsonld", views.dcat_jsonld, name="dcat_jsonld"),
]

# Bokmål without a prefix, English under /en/.
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("om/", views.about, name="about"),
    path("tilgjengelighet/", views.accessibility, name="accessibility"),
    path("personvern/", views.privacy, name="privacy"),
    path("apne-data/", views.open_data, name="open_data"),
    path("api/dokumentasjon/", api_docs.api_reference, name="api_reference"),
    # Before the admin's own URLs: its log-in page sends people to ours and our limits.
    path("admin/login/", views.admin_login),
    path("admin/", admin.site.urls),
    path("konto/", include((account_patterns, "accounts"))),
    path("", include("initiatives.urls")),
    path("", include("networks.urls")),
    prefix_default_language=False,
)
