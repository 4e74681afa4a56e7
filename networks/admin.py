from django.contrib import admin

from ideabank.admin import UserFieldsAdminMixin
from networks.models import (
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    WorkingGroup,
    WorkingGroupMember,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "scope", "coordinator", "county"]
    list_select_related = ["parent", "coordinator", "county"]
    list_filter = ["scope", "focus_areas", "county"]
    search_fields = ["name", "description", "coordinator__name"]
    autocomplete_fields = ["parent", "coordinator", "county", "focus_areas", "goals"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["organisation", "network", "role", "status", "since"]
    list_select_related = ["organisation", "network"]
    list_filter = ["status", "role"]
    search_fields = ["organisation__name", "network__name"]
    autocomplete_fields = ["network", "organisation"]


class WorkingGroupMemberInline(UserFieldsAdminMixin, admin.TabularInline):
    model = WorkingGroupMember
    extra = 0
    autocomplete_fields = ["organisation", "user"]
    user_fields = ("user",)


@admin.register(WorkingGroup)
class WorkingGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "year", "focus_area", "host_network", "host_organisation"]
    list_select_related = ["focus_area", "host_network", "host_organisation"]
    list_filter = ["year", "focus_area"]
    search_fields = ["name", "mandate"]
    autocomplete_fields = [
        "focus_area",
        "host_network",
        "host_organisation",
        "proposed_initiatives",
    ]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [WorkingGroupMemberInline]


@admin.register(WorkingGroupMember)
class WorkingGroupMemberAdmin(UserFieldsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "working_group", "organisation", "role"]
    list_select_related = ["working_group", "organisation"]
    list_filter = ["role"]
    search_fields = ["name", "organisation__name", "working_group__name"]
    autocomplete_fields = ["working_group", "organisation", "user"]
    user_fields = ("user",)


class PresentationInline(admin.TabularInline):
    model = Presentation
    extra = 0
    autocomplete_fields = ["initiative", "presenter_organisation"]


class EventRegistrationInline(admin.TabularInline):
    model = EventRegistration
    extra = 0
    fields = ["name", "email", "organisation_name", "status", "created"]
    readonly_fields = ["created"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "starts_at", "ends_at", "registration", "capacity"]
    list_filter = ["kind", "registration", "audience"]
    search_fields = ["title", "description", "venue"]
    autocomplete_fields = [
        "organiser_network",
        "organiser_working_group",
        "organiser_organisation",
        "audience",
    ]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "starts_at"
    inlines = [PresentationInline, EventRegistrationInline]


@admin.register(Presentation)
class PresentationAdmin(admin.ModelAdmin):
    list_display = ["initiative", "event", "presenter", "order"]
    list_select_related = ["initiative", "event"]
    search_fields = ["initiative__title", "event__title", "presenter"]
    autocomplete_fields = ["event", "initiative", "presenter_organisation"]


@admin.register(EventRegistration)
class EventRegistrationAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "organisation_name", "event", "status", "created"]
    list_select_related = ["event"]
    list_filter = ["status"]
    search_fields = ["name", "email", "organisation_name", "event__title"]
    autocomplete_fields = ["event"]
