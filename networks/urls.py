from django.urls import path

from networks import campaigns, feeds, views

app_name = "networks"

urlpatterns = [
    # Networks and join requests.
    path("nettverk/", views.network_list, name="network_list"),
    # Before the slug patterns, so these paths are never read as a network.
    path(
        "nettverk/medlemskap/<int:pk>/godkjenn/",
        views.network_membership_approve,
        name="membership_approve",
    ),
    path(
        "nettverk/medlemskap/<int:pk>/avslaa/",
        views.network_membership_decline,
        name="membership_decline",
    ),
    path("nettverk/<slug:slug>/", views.network_detail, name="network"),
    path("nettverk/<slug:slug>/bli-med/", views.network_join, name="network_join"),
    # Campaigns.
    path("nettverk/<slug:slug>/kampanjer/ny/", campaigns.campaign_create, name="campaign_create"),
    path("kampanjer/", campaigns.campaign_list, name="campaign_list"),
    path("kampanjer/<slug:slug>/", campaigns.campaign_detail, name="campaign"),
    path("kampanjer/<slug:slug>/endre/", campaigns.campaign_edit, name="campaign_edit"),
    # Working groups.
    path("arbeidsgrupper/", views.working_group_list, name="working_group_list"),
    path("arbeidsgrupper/<slug:slug>/", views.working_group_detail, name="working_group"),
    path(
        "arbeidsgrupper/<slug:slug>/arsrapport/",
        views.working_group_report,
        name="working_group_report",
    ),
    # Events, registration and calendars.
    path("arrangementer/", views.event_list, name="event_list"),
    # Before arrangementer/<slug>/, which would otherwise take these words as slugs.
    path("arrangementer/tidligere/", views.event_past_list, name="event_past_list"),
    path("arrangementer/kalender.ics", views.calendar_feed, name="calendar"),
    path("arrangementer/eksport.csv", views.event_export_csv, name="event_export_csv"),
    path(
        "arrangementer/tidligere/eksport.csv",
        views.event_past_export_csv,
        name="event_past_export_csv",
    ),
    path("arrangementer/feed/", feeds.UpcomingEventFeed(), name="event_feed"),
    path(
        "arrangementer/avmeld/<str:token>/",
        views.registration_cancel,
        name="registration_cancel",
    ),
    path("arrangementer/<slug:slug>/", views.event_detail, name="event"),
    path("arrangementer/<slug:slug>/kalender.ics", views.event_ics, name="event_calendar"),
    path("arrangementer/<slug:slug>/pamelding/", views.event_register, name="event_register"),
    path("nettverk/<slug:slug>/kalender.ics", views.network_calendar_feed, name="network_calendar"),
    path(
        "arbeidsgrupper/<slug:slug>/kalender.ics",
        views.working_group_calendar_feed,
        name="working_group_calendar",
    ),
]
