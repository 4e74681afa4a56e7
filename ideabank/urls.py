from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from ideabank import api_docs, comments, follows, sitemaps, views
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
    # Following (ideabank/follows.py): each is a POST from a button on the thing's page.
    path("profil/folger/", follows.follow_list, name="follows"),
    path("folg/tiltak/<slug:slug>/", follows.follow_initiative, name="follow_initiative"),
    path("folg/organisasjon/<slug:slug>/", follows.follow_organisation, name="follow_organisation"),
    path("folg/nettverk/<slug:slug>/", follows.follow_network, name="follow_network"),
    path("folg/barekraftsmal/<int:number>/", follows.follow_goal, name="follow_goal"),
    # The list's state comes as this address's query string, as on the list itself.
    path("folg/sok/", follows.follow_search, name="follow_search"),
    path("folg/slutt/<int:pk>/", follows.follow_stop, name="follow_stop"),
    path("profil/slett/", views.account_delete, name="account_delete"),
    path("slettet/", views.account_deleted, name="account_deleted"),
    # Leave follow mails from a signed link, without logging in (ideabank/follows.py).
    path("avslutt/<str:token>/", follows.unsubscribe, name="unsubscribe"),
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

# Questions and comments on initiatives and networks (ideabank/comments.py).
comment_patterns = [
    path(
        "tiltak/<slug:slug>/kommentarer/ny/",
        comments.initiative_comment_create,
        name="initiative_create",
    ),
    path(
        "nettverk/<slug:slug>/kommentarer/ny/",
        comments.network_comment_create,
        name="network_create",
    ),
    path("kommentarer/<int:pk>/svar/", comments.comment_reply, name="reply"),
    path("kommentarer/<int:pk>/endre/", comments.comment_edit, name="edit"),
    path("kommentarer/<int:pk>/slett/", comments.comment_delete, name="delete"),
    path("kommentarer/<int:pk>/merk-som-svar/", comments.answer_mark, name="mark_answer"),
    path("kommentarer/<int:pk>/fjern-svarmerke/", comments.answer_unmark, name="unmark_answer"),
    path("kommentarer/<int:pk>/meld-fra/", comments.comment_report, name="report"),
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
    path("", include((comment_patterns, "comments"))),
    path("", include("initiatives.urls")),
    path("", include("networks.urls")),
    prefix_default_language=False,
)
