import csv
from collections.abc import Iterable
from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ideabank.admin import UserFieldsAdminMixin
from networks.models import (
    OSLO,
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
    # Who asked and who approved are recorded by the join flow, not picked from every user.
    readonly_fields = ["requested_by", "approved_by"]


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
    readonly_fields = ["requested_by", "approved_by"]


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
    actions = ["export_registrations"]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A raised capacity (or a registration removed in the inline) frees places: the
        # waiting list moves up into them, each person told by e-mail.
        moved = form.instance.fill_free_places()
        if moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d registration moved up from the waiting list.",
                    "%(count)d registrations moved up from the waiting list.",
                    len(moved),
                )
                % {"count": len(moved)},
                messages.SUCCESS,
            )

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Registrations hold people's names and addresses: only who may see them exports."""
        return request.user.has_perm("networks.view_eventregistration")

    @admin.action(description=gettext_lazy("Export registrations as CSV"), permissions=["export"])
    def export_registrations(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return registrations_csv(queryset, _("registrations") + ".csv")

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        export = [
            path(
                "<path:object_id>/registrations.csv",
                self.admin_site.admin_view(self.registrations_csv_view),
                name=f"{info}_registrations_csv",
            )
        ]
        # Before the defaults: their "<path:object_id>/" would swallow this address.
        return export + super().get_urls()

    def registrations_csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One event's registrations (the link at the top of its change page)."""
        event = self.get_object(request, object_id)
        if event is None:
            raise Http404
        if not (self.has_view_permission(request, event) and self.has_export_permission(request)):
            raise PermissionDenied
        return registrations_csv([event], f"{_('registrations')}-{event.slug}.csv")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_export_registrations": self.has_export_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)


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
    actions = ["cancel_registrations"]

    @admin.action(description=gettext_lazy("Cancel selected registrations"), permissions=["change"])
    def cancel_registrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through EventRegistration.cancel, so freed places go to the waiting list (by e-mail)."""
        cancelled = 0
        for registration in queryset.exclude(status=EventRegistration.Status.CANCELLED):
            registration.cancel()
            cancelled += 1
        if not cancelled:
            self.message_user(
                request,
                _("All the selected registrations were already cancelled."),
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            ngettext(
                "%(count)d registration cancelled.", "%(count)d registrations cancelled.", cancelled
            )
            % {"count": cancelled},
            messages.SUCCESS,
        )


# --- Registrations as CSV, for organisers --------------------------------------------

# What a spreadsheet reads as the start of a formula (CSV injection): a leading
# apostrophe makes such a cell plain text in Excel and LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def oslo_time(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%Y-%m-%d %H:%M")


def registrations_csv(events: Iterable[Event], filename: str) -> HttpResponse:
    """The events' registrations, cancelled ones included (the status says so), for Excel."""
    registrations = (
        EventRegistration.objects.filter(event__in=[event.pk for event in events])
        .select_related("event")
        .order_by("event__starts_at", "event__pk", "created", "pk")
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # The byte-order mark tells Excel the file is UTF-8; without it æ, ø and å come out garbled.
    response.write("\ufeff")
    # Semicolons: Excel with Norwegian settings uses the comma as decimal mark and opens a
    # comma-separated file as one column.
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            _("Event"),
            _("Event starts"),
            _("Name"),
            _("E-mail"),
            _("Organisation"),
            _("Status"),
            _("Registered at"),
        ]
    )
    for registration in registrations:
        writer.writerow(
            [
                spreadsheet_safe(registration.event.title),
                oslo_time(registration.event.starts_at),
                spreadsheet_safe(registration.name),
                spreadsheet_safe(registration.email),
                spreadsheet_safe(registration.organisation_name),
                registration.get_status_display(),
                oslo_time(registration.created),
            ]
        )
    return response
