from django.urls import path

from initiatives import feeds, freshness, reports, submission, views

app_name = "initiatives"

urlpatterns = [
    # Browsing (public).
    path("tiltak/", views.initiative_list, name="list"),
    # Atom feeds: every list page's feed is its address plus feed/ (browse's feed_url).
    # Before tiltak/<slug>/; "feed" is a reserved initiative slug (forms.RESERVED_SLUGS).
    path("tiltak/feed/", feeds.InitiativeFeed(), name="list_feed"),
    path("barekraftsmal/<int:number>/feed/", feeds.GoalFeed(), name="goal_feed"),
    path("organisasjoner/<slug:slug>/feed/", feeds.OrganisationFeed(), name="organisation_feed"),
    path("aktortyper/<slug:slug>/feed/", feeds.ActorTypeFeed(), name="actor_type_feed"),
    path("formal/<slug:slug>/feed/", feeds.PurposeFeed(), name="purpose_feed"),
    # The list's state as a file (initiatives/exports.py); a slug never holds a dot.
    path("tiltak/eksport.csv", views.initiative_export_csv, name="export_csv"),
    path("tiltak/eksport.xlsx", views.initiative_export_xlsx, name="export_xlsx"),
    # The one-click link in the freshness reminders (initiatives/freshness.py); before
    # tiltak/<slug>/..., and "fortsatt-aktuelt" is a reserved initiative slug.
    path("tiltak/fortsatt-aktuelt/<str:token>/", freshness.still_current, name="still_current"),
    path("tiltak/<slug:slug>/", views.initiative_detail, name="detail"),
    path("barekraftsmal/<int:number>/", views.goal_detail, name="goal"),
    # Before organisasjoner/<slug>/, which would otherwise take these two words as slugs.
    path("organisasjoner/bli-med/", views.organisation_join, name="organisation_join"),
    path("organisasjoner/foresla/", views.organisation_propose, name="organisation_propose"),
    path("organisasjoner/<slug:slug>/", views.organisation_detail, name="organisation"),
    path("aktortyper/<slug:slug>/", views.actor_type_detail, name="actor_type"),
    path("formal/<slug:slug>/", views.purpose_detail, name="purpose"),
    # Sharing: the submission form, preview, submit, files (initiatives/submission.py).
    path("del-tiltak/", submission.initiative_create, name="create"),
    path("del-tiltak/lignende/", submission.initiative_similar, name="similar"),
    path("tiltak/<slug:slug>/rediger/", submission.initiative_edit, name="edit"),
    path("tiltak/<slug:slug>/forhandsvisning/", submission.initiative_preview, name="preview"),
    path("tiltak/<slug:slug>/send-inn/", submission.initiative_submit, name="submit"),
    path("tiltak/<slug:slug>/trekk-tilbake/", submission.initiative_withdraw, name="withdraw"),
    path(
        "tiltak/<slug:slug>/vedlegg/<int:pk>/",
        submission.initiative_attachment,
        name="attachment",
    ),
    path("tiltak/<slug:slug>/bilde/", submission.initiative_image, name="image"),
    # Organisations, my page, adoption and contact (initiatives/views.py).
    path("medlemskap/<int:pk>/godkjenn/", views.membership_approve, name="membership_approve"),
    path("medlemskap/<int:pk>/avslaa/", views.membership_decline, name="membership_decline"),
    path("min-side/", views.my_page, name="my_page"),
    path("tiltak/<slug:slug>/ta-i-bruk/", views.adoption_create, name="adoption_create"),
    path("tiltak/<slug:slug>/ta-i-bruk/<int:pk>/endre/", views.adoption_edit, name="adoption_edit"),
    path(
        "tiltak/<slug:slug>/ta-i-bruk/<int:pk>/trekk/",
        views.adoption_withdraw,
        name="adoption_withdraw",
    ),
    path("tiltak/<slug:slug>/kontakt/", views.contact, name="contact"),
    # Progress reports and adopters' feedback (initiatives/reports.py).
    path("tiltak/<slug:slug>/rapporter/ny/", reports.report_create, name="report_create"),
    path("tiltak/<slug:slug>/rapporter/<int:pk>/endre/", reports.report_edit, name="report_edit"),
    path(
        "tiltak/<slug:slug>/ta-i-bruk/<int:pk>/erfaring/",
        reports.adoption_feedback,
        name="adoption_feedback",
    ),
    # The catalogue in charts, and the same figures as CSV (initiatives/statistics.py).
    path("statistikk/", views.statistics, name="statistics"),
    path("statistikk/statistikk.csv", views.statistics_csv, name="statistics_csv"),
]
