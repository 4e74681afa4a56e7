import csv
from collections.abc import Iterable
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from ideabank.admin import (
    ProtectedDeleteAdminMixin,
    TextLanguageAdminMixin,
    UserFieldsAdminMixin,
    reason_page,
)
from initiatives.admin import apply_move, pending_first
from initiatives.models import IllegalTransition
from networks.models import (
    OSLO,
    Campaign,
    CampaignAddressee,
    Event,
    EventRegistration,
    Membership,
    Network,
    Presentation,
    RegistrationRefused,
    WorkingGroup,
    WorkingGroupMember,
)

# Statuses and their timestamps change only through the model's moves (the actions below),
# which e-mail the people concerned; nobody types them in.
MEMBERSHIP_RECORDED = [
    "status",
    "since",
    "ended_at",
    "declined_at",
    "requested_by",
    "requester_email_confirmed",
    "approved_by",
]


class RequesterConfirmedMixin:
    """Whether the person who asked has confirmed their e-mail address: whoever decides must
    not take an unconfirmed address for an identity."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(requester_confirmed_at=F("requested_by__profile__email_confirmed_at"))
        )

    @admin.display(boolean=True, description=gettext_lazy("requester's e-mail confirmed"))
    def requester_email_confirmed(self, membership: Membership) -> bool | None:
        if membership.requested_by_id is None:
            return None
        return getattr(membership, "requester_confirmed_at", None) is not None


REGISTRATION_RECORDED = ["status", "cancelled_at", "language", "created"]
EVENT_RECORDED = ["cancelled_at", "cancelled_by", "cancellation_reason"]


class MembershipInlineForm(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A listed organisation stays listed: putting another one in its place would make
        # that one a member without a request. It is added as a new row instead.
        if self.instance.pk is not None and "organisation" in self.fields:
            self.fields["organisation"].disabled = True


class MembershipInline(RequesterConfirmedMixin, admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role", *MEMBERSHIP_RECORDED]
    # An organisation added here starts as a request, approved with the memberships list's
    # action, which tells its members; who asked and who approved are recorded by the flow.
    readonly_fields = MEMBERSHIP_RECORDED
    # Memberships are ended or declined with the memberships list's actions, which tell the
    # organisation; a deleted row would tell nobody.
    can_delete = False


@admin.register(Network)
class NetworkAdmin(TextLanguageAdminMixin, ProtectedDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["name", "parent", "scope", "coordinator", "county"]
    list_select_related = ["parent", "coordinator", "county"]
    list_filter = ["scope", "focus_areas", "county"]
    search_fields = ["name", "description", "coordinator__name", "contact_email"]
    autocomplete_fields = ["parent", "coordinator", "county", "focus_areas", "goals"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    delete_instead = gettext_lazy(
        "End its memberships and decline its requests to join first (the actions in the "
        "network memberships list, which tell the organisations), and move its sub-groups, "
        "events and working groups to another network; or keep the network: its members "
        "and history stay findable."
    )

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Active memberships and requests keep a network (protect_live_memberships); ended
        # ones, whose organisations were told, go with it. The memberships' own delete page
        # is refused, so ask the permission itself rather than that page.
        if request.user.has_perm("networks.delete_membership"):
            perms_needed.discard(Membership._meta.verbose_name)
        return deleted, model_count, perms_needed, protected


@admin.register(Membership)
class MembershipAdmin(RequesterConfirmedMixin, admin.ModelAdmin):
    list_display = [
        "organisation",
        "network",
        "role",
        "status",
        "since",
        "ended_at",
        "requested_by",
        "requester_email_confirmed",
    ]
    list_select_related = ["organisation", "network", "requested_by"]
    list_filter = ["status", "role"]
    search_fields = ["organisation__name", "network__name", "requested_by__email"]
    autocomplete_fields = ["network", "organisation"]
    # A membership added here starts as a request; the actions approve, decline or end it.
    actions = ["approve_selected", "decline_selected", "end_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Another network or organisation on an existing row would move the membership
        # without a request: a new membership is added (as a request) instead.
        if obj is None:
            return MEMBERSHIP_RECORDED
        return ["network", "organisation", *MEMBERSHIP_RECORDED]

    def get_ordering(self, request: HttpRequest) -> list:
        return [
            pending_first("status", Membership.Status.REQUESTED).asc(),
            "network__name",
            "organisation__name",
        ]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Nobody deletes a membership here (no delete page, no "delete selected"): a request
        # is declined and an active membership ended, with the actions, which tell the
        # organisation; an ended one stays as the record.
        return False

    def has_decline_permission(self, request: HttpRequest) -> bool:
        """Declining removes the request: for those whose permissions let them delete
        memberships (the delete page itself is refused to everyone, above)."""
        return super().has_delete_permission(request)

    @admin.action(
        description=gettext_lazy("Approve selected requests to join"), permissions=["change"]
    )
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through Membership.approve, as the network page does: a member from today, the
        requester e-mailed."""
        requests = queryset.requested().select_related("network", "organisation", "requested_by")
        done = apply_move(
            self,
            request,
            requests,
            lambda membership: membership.approve(by=request.user),
            lambda n: (
                ngettext("%d request to join approved.", "%d requests to join approved.", n) % n
            ),
        )
        if not done:
            self.message_user(
                request,
                _("None of the selected memberships was a request to join."),
                messages.WARNING,
            )

    @admin.action(
        description=gettext_lazy("Decline selected requests to join"), permissions=["decline"]
    )
    def decline_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through Membership.decline: the request is kept as declined (the organisation may
        ask again after ASK_AGAIN_AFTER) and the requester is e-mailed."""
        apply_move(
            self,
            request,
            queryset.select_related("network", "organisation", "requested_by"),
            lambda membership: membership.decline(by=request.user),
            lambda n: (
                ngettext("%d request to join declined.", "%d requests to join declined.", n) % n
            ),
        )

    @admin.action(description=gettext_lazy("End selected memberships"), permissions=["change"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through Membership.end: the row stays, ended today; the organisation is e-mailed."""
        apply_move(
            self,
            request,
            queryset.exclude(
                status__in=[Membership.Status.ENDED, Membership.Status.DECLINED]
            ).select_related("network", "organisation"),
            lambda membership: membership.end(by=request.user),
            lambda n: ngettext("%d membership ended.", "%d memberships ended.", n) % n,
        )


class CampaignAddresseeInline(admin.TabularInline):
    model = CampaignAddressee
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "invited_at"]
    # Set by the invitation task when the organisation's members were mailed.
    readonly_fields = ["invited_at"]


@admin.register(Campaign)
class CampaignAdmin(TextLanguageAdminMixin, admin.ModelAdmin):
    """Campaigns, the moderators' own (no network) and the networks'. Saving here sends no
    mail: the "send invitations" action invites every organisation not invited yet."""

    list_display = ["title", "network", "deadline", "answered_count", "addressee_count"]
    list_select_related = ["network"]
    list_filter = ["network"]
    search_fields = ["title", "text", "network__name"]
    date_hierarchy = "deadline"
    autocomplete_fields = ["network", "goals", "focus_areas", "initiatives"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_by"]
    inlines = [CampaignAddresseeInline]
    actions = ["send_invitations"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).with_progress()

    @admin.display(description=gettext_lazy("have shared"), ordering="answered_count")
    def answered_count(self, campaign: Campaign) -> int:
        return campaign.answered_count

    @admin.display(description=gettext_lazy("asked"), ordering="addressee_count")
    def addressee_count(self, campaign: Campaign) -> int:
        return campaign.addressee_count

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(
        description=gettext_lazy("Send invitations to the organisations not invited yet"),
        permissions=["change"],
    )
    def send_invitations(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through Campaign.invite_after_commit, as the campaign form does: each organisation
        is invited once, however often this runs."""
        waiting = CampaignAddressee.objects.filter(campaign__in=queryset, invited_at__isnull=True)
        count = waiting.count()
        for campaign in queryset:
            campaign.invite_after_commit()
        self.message_user(
            request,
            ngettext(
                "%d organisation is being invited.", "%d organisations are being invited.", count
            )
            % count,
            messages.SUCCESS if count else messages.WARNING,
        )


class WorkingGroupMemberInline(UserFieldsAdminMixin, admin.TabularInline):
    model = WorkingGroupMember
    extra = 0
    autocomplete_fields = ["organisation", "user"]
    user_fields = ("user",)


@admin.register(WorkingGroup)
class WorkingGroupAdmin(TextLanguageAdminMixin, admin.ModelAdmin):
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
    search_fields = ["name", "organisation__name", "working_group__name", "user__email"]
    autocomplete_fields = ["working_group", "organisation", "user"]
    user_fields = ("user",)


class PresentationInline(admin.TabularInline):
    model = Presentation
    extra = 0
    autocomplete_fields = ["initiative", "presenter_organisation"]


class EventRegistrationInline(admin.TabularInline):
    model = EventRegistration
    extra = 0
    fields = ["name", "email", "organisation_name", "status", "cancelled_at", "created"]
    readonly_fields = ["status", "cancelled_at", "created"]
    # Registrations are cancelled with the registrations list's action, which gives the
    # freed place to the waiting list; a deleted row would tell nobody.
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        # Added on the registrations list, through Event.register (place or waiting list,
        # confirmation e-mail with the cancel link).
        return False


class CancelEventForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason, sent to everyone registered and shown on the event page"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        error_messages={"required": gettext_lazy("Please write why the event is cancelled.")},
    )


@admin.register(Event)
class EventAdmin(TextLanguageAdminMixin, ProtectedDeleteAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "starts_at",
        "ends_at",
        "registration",
        "capacity",
        "is_cancelled",
    ]
    list_filter = ["kind", "registration", ("cancelled_at", admin.EmptyFieldListFilter), "audience"]
    search_fields = ["title", "description", "venue"]
    autocomplete_fields = [
        "organiser_network",
        "organiser_working_group",
        "organiser_organisation",
        "audience",
    ]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "starts_at"
    # Set by the "Cancel event" action (Event.cancel), which tells the registrants.
    readonly_fields = EVENT_RECORDED
    inlines = [PresentationInline, EventRegistrationInline]
    actions = ["export_registrations", "cancel_selected"]
    delete_instead = gettext_lazy(
        "Cancel the event instead (the “Cancel event” action in the event list): everyone "
        "registered is told by e-mail, and the event stays in the lists marked as cancelled."
    )

    @admin.display(
        boolean=True, description=pgettext_lazy("event", "cancelled"), ordering="cancelled_at"
    )
    def is_cancelled(self, event: Event) -> bool:
        return event.is_cancelled

    @admin.action(description=gettext_lazy("Cancel event…"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for the reason on a page of its own, then call each event off with it
        (Event.cancel: marked cancelled, registrants e-mailed in their language)."""
        form = CancelEventForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            cancelled = told = 0
            for event in queryset:
                if event.is_cancelled:
                    continue
                try:
                    told += event.cancel(form.cleaned_data["reason"], by=request.user)
                except IllegalTransition as error:
                    self.message_user(request, f"{event}: {error}", messages.WARNING)
                    continue
                self.log_change(request, event, _("Cancelled the event."))
                cancelled += 1
            if not cancelled:
                self.message_user(
                    request,
                    _("None of the selected events could be cancelled."),
                    messages.WARNING,
                )
                return None
            self.message_user(
                request,
                ngettext("%d event cancelled.", "%d events cancelled.", cancelled) % cancelled
                + " "
                + ngettext(
                    "%d person who had registered is told by e-mail.",
                    "%d people who had registered are told by e-mail.",
                    told,
                )
                % told,
                messages.SUCCESS,
            )
            return None
        return reason_page(
            self,
            request,
            queryset,
            form,
            action="cancel_selected",
            title=_("Cancel events"),
            template="admin/networks/event/cancel_confirmation.html",
        )

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A raised capacity frees places: the waiting list moves up into them, each person
        # told by e-mail.
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


# What a person registering types; the rest is recorded by Event.register and the moves.
REGISTRATION_TYPED = ("event", "name", "email", "organisation_name")


class RegistrationForm(forms.ModelForm):
    # The language of the person's e-mails, asked for when a moderator registers someone
    # (the event page takes the page's language); afterwards it is shown read-only.
    language = forms.ChoiceField(
        label=EventRegistration._meta.get_field("language").verbose_name,
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        # A form posted without it (a browser always sends the chosen one) means the default.
        required=False,
        help_text=gettext_lazy(
            "The confirmation with the cancel link, and every later e-mail to the person, "
            "is written in this language."
        ),
    )
    # Why Event.register refused what this form found possible; set by the admin, which
    # shows the form again with it and the input.
    refusal: str | None = None

    class Meta:
        model = EventRegistration
        fields = list(REGISTRATION_TYPED)

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or settings.LANGUAGE_CODE

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.refusal:
            raise ValidationError(self.refusal)
        event, email = cleaned.get("event"), cleaned.get("email")
        registration = self.instance
        # A new registration is refused for the same reasons as on the event page.
        if registration._state.adding:
            if event is not None and email:
                try:
                    event.check_registration(email)
                except RegistrationRefused as refusal:
                    raise ValidationError(str(refusal)) from refusal
        # A live registration's new address must not be another live one's of the event
        # (the database refuses that; the event is read-only here, so Django does not ask).
        elif (
            email
            and EventRegistration.objects.live().filter(pk=registration.pk).exists()
            and registration.event.has_registration_for(email, other_than=registration)
        ):
            self.add_error("email", _("This e-mail address is already registered for the event."))
        return cleaned


@admin.register(EventRegistration)
class EventRegistrationAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "organisation_name", "event", "status", "created"]
    list_select_related = ["event"]
    list_filter = ["status"]
    search_fields = ["name", "email", "organisation_name", "event__title"]
    autocomplete_fields = ["event"]
    form = RegistrationForm
    actions = ["cancel_registrations"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return [*REGISTRATION_TYPED, "language"]
        return [*REGISTRATION_TYPED, *REGISTRATION_RECORDED]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Moving a registration to another event would bypass that event's places.
        return [] if obj is None else ["event", *REGISTRATION_RECORDED]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A registration is cancelled (the action), which gives its place to the waiting
        # list. Only a superuser deletes one: to erase a person's data when they ask.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # Erasure is asked for by one person: one registration at a time, from its page.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: EventRegistration) -> None:
        # Cancelled first, so a place it held goes to the waiting list (who is e-mailed).
        obj.cancel()
        super().delete_model(request, obj)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:
            # The model's own fields; "language" is the form's (the model's is not editable).
            kwargs["fields"] = list(REGISTRATION_TYPED)
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "registration_refused", None)
        if refusal is None:
            return form
        return type(form.__name__, (form,), {"refusal": refusal})

    def save_model(self, request: HttpRequest, obj: EventRegistration, form, change: bool) -> None:
        if change:
            try:
                # A savepoint, so the database's once-per-address rule can refuse an address
                # taken since the form checked it, shown on the form like the other refusals.
                with transaction.atomic():
                    super().save_model(request, obj, form, change)
            except IntegrityError as error:
                raise RegistrationRefused(
                    _("This e-mail address is already registered for the event.")
                ) from error
            return
        # A new registration goes through Event.register, as on the event page: a place or
        # the waiting list, and the e-mail with the cancel link in the language chosen.
        registration = obj.event.register(
            name=obj.name,
            email=obj.email,
            organisation=obj.organisation_name,
            language=form.cleaned_data["language"],
        )
        for field in EventRegistration._meta.concrete_fields:
            setattr(obj, field.attname, getattr(registration, field.attname))
        obj._state.adding = False
        if registration.status == EventRegistration.Status.WAITING:
            self.message_user(
                request,
                _("The event is full, so %(name)s is on the waiting list.") % {"name": obj.name},
                messages.WARNING,
            )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RegistrationRefused as refusal:
            # The form found the registration possible, but the event changed (closed,
            # cancelled, this address registered) before it was saved: nothing is saved (the
            # view's transaction is rolled back). The form is shown again, with the input
            # and the reason as its error.
            request.registration_refused = str(refusal)
            return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.action(description=gettext_lazy("Cancel selected registrations"), permissions=["change"])
    def cancel_registrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Through EventRegistration.cancel, so freed places go to the waiting list (by e-mail)."""
        cancelled = 0
        for registration in queryset.live():
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
