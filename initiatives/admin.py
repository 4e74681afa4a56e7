from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Prefetch, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ideabank.admin import (
    ProtectedDeleteAdminMixin,
    TextLanguageAdminMixin,
    UserFieldsAdminMixin,
    reason_page,
)
from ideabank.models import email_confirmed
from initiatives import exports, history, imports, search
from initiatives.models import (
    ActorType,
    Adoption,
    Attachment,
    County,
    FocusArea,
    Goal,
    IllegalTransition,
    IndicatorResult,
    Initiative,
    InitiativeLink,
    InitiativeStatusChange,
    Municipality,
    Organisation,
    OrganisationMember,
    Participation,
    ProgressReport,
    Purpose,
    SearchSynonym,
    Target,
)


def apply_move(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable,
    move: Callable,
    done_message: Callable[[int], str],
) -> int:
    """Call `move` on each object; a move the object's state does not allow is a warning
    naming it, the rest go ahead. Returns how many moved."""
    done = 0
    for obj in objects:
        try:
            move(obj)
        except IllegalTransition as error:
            modeladmin.message_user(request, f"{obj}: {error}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message(done), messages.SUCCESS)
    return done


# --- Taxonomy and places ---------------------------------------------------------


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["number", "short_nb", "short_en", "colour"]
    search_fields = ["short_nb", "short_en", "title_nb", "title_en"]
    ordering = ["number"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["code", "goal", "text_nb"]
    list_select_related = ["goal"]
    list_filter = ["goal"]
    search_fields = ["code", "text_nb", "text_en"]
    autocomplete_fields = ["goal"]


class NamedTermAdmin(admin.ModelAdmin):
    list_display = ["name_nb", "name_en", "slug", "position"]
    list_editable = ["position"]
    search_fields = ["name_nb", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Purpose)
class PurposeAdmin(NamedTermAdmin):
    pass


@admin.register(FocusArea)
class FocusAreaAdmin(NamedTermAdmin):
    pass


@admin.register(ActorType)
class ActorTypeAdmin(NamedTermAdmin):
    list_display = ["name_nb", "name_en", "group", "slug", "position"]
    list_filter = ["group"]


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ["name", "number"]
    search_fields = ["name", "number"]


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ["name", "number", "county"]
    list_select_related = ["county"]
    list_filter = ["county"]
    search_fields = ["name", "number"]
    autocomplete_fields = ["county"]


# --- Organisations -------------------------------------------------------------------


class MembershipFieldsAdminMixin:
    """Who belongs to which organisation, and as what, is for those who manage user accounts
    (administrators), as the accounts themselves are (ideabank.admin): moderators edit
    content, and see these fields read-only. They still approve and decline requests with
    the member list's actions, which tell the person by e-mail."""

    membership_fields: tuple[str, ...] = ("organisation", "user", "role", "status")

    def may_manage_members(self, request: HttpRequest) -> bool:
        return request.user.has_perm("auth.change_user")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.may_manage_members(request):
            fields += [name for name in self.membership_fields if name not in fields]
        return fields

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Removing an active member changes who belongs; declining a request does not.
        # (In the inline on an organisation's page, `obj` is the organisation.)
        removes_member = obj is not None and (isinstance(obj, Organisation) or obj.is_active)
        if removes_member and not self.may_manage_members(request):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(boolean=True, description=_("e-mail confirmed"))
    def email_confirmed(self, membership: OrganisationMember) -> bool:
        # The profile comes with the row (select_related); accounts made in the admin may
        # have none yet.
        profile = getattr(membership.user, "profile", None)
        return bool(profile and profile.email_confirmed)


class OrganisationMemberInline(MembershipFieldsAdminMixin, admin.TabularInline):
    model = OrganisationMember
    extra = 0
    autocomplete_fields = ["user"]
    membership_fields = ("user", "role", "status")  # the organisation is the page's own
    fields = ["user", "email_confirmed", "role", "status", "approved_at"]
    # Requests are approved or declined with the member list's actions, which tell the person.
    readonly_fields = ["email_confirmed", "status", "approved_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user__profile")


def pending_first(field: str, pending: str) -> Case:
    """An ordering term that puts rows waiting for a moderator on top."""
    return Case(
        When(**{field: pending}, then=Value(0)), default=Value(1), output_field=IntegerField()
    )


@admin.register(Organisation)
class OrganisationAdmin(
    TextLanguageAdminMixin, ProtectedDeleteAdminMixin, UserFieldsAdminMixin, admin.ModelAdmin
):
    list_display = [
        "name",
        "status",
        "actor_type",
        "municipality",
        "organisation_number",
        "proposed_by",
        "created",
    ]
    list_select_related = ["actor_type", "municipality", "proposed_by"]
    list_filter = ["status", "actor_type__group", "actor_type"]
    search_fields = ["name", "organisation_number", "slug"]
    autocomplete_fields = ["actor_type", "municipality"]
    prepopulated_fields = {"slug": ["name"]}
    # Approval goes through the action, so the status is never typed in by hand.
    readonly_fields = ["status", "proposed_by"]
    user_fields = ("proposed_by",)
    inlines = [OrganisationMemberInline]
    actions = ["approve_selected"]
    delete_instead = _(
        "If it is a duplicate, merge it into the right organisation: move its initiatives, "
        "partnerships, members, adoption reports and network memberships there, then delete "
        "it. An organisation that has closed down is kept, so that what it did stays findable."
    )

    def get_ordering(self, request: HttpRequest) -> list:
        return [pending_first("status", Organisation.Status.PROPOSED).asc(), "name"]

    @admin.action(description=_("Approve selected organisations"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for organisation in queryset.filter(status=Organisation.Status.PROPOSED):
            organisation.approve(by=request.user)
            self.log_change(request, organisation, gettext("Approved the organisation."))
            done += 1
        if not done:
            self.message_user(
                request,
                gettext("None of the selected organisations was waiting for approval."),
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            ngettext("%d organisation approved.", "%d organisations approved.", done) % done,
            messages.SUCCESS,
        )


class WithoutDeciderFilter(admin.SimpleListFilter):
    """Requests to join an organisation with no active member: the moderators decide them."""

    title = _("who decides")
    parameter_name = "without_decider"

    def lookups(self, request: HttpRequest, model_admin) -> list:
        return [("yes", _("Requests no member can decide"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.without_decider()
        return queryset


@admin.register(OrganisationMember)
class OrganisationMemberAdmin(MembershipFieldsAdminMixin, admin.ModelAdmin):
    list_display = [
        "user",
        "email_confirmed",
        "organisation",
        "role",
        "status",
        "created",
        "approved_by",
    ]
    list_select_related = ["user__profile", "organisation", "approved_by"]
    list_filter = [
        "status",
        WithoutDeciderFilter,
        "role",
        ("user__profile__email_confirmed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    fields = [
        "organisation",
        "user",
        "email_confirmed",
        "role",
        "status",
        "approved_by",
        "approved_at",
    ]
    # A request becomes a membership through the actions, which e-mail the person.
    readonly_fields = ["email_confirmed", "status", "approved_by", "approved_at"]
    actions = ["approve_selected", "decline_selected"]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self.may_manage_members(request):
            # Deleting selected rows would remove active members too; declining is the way.
            actions.pop("delete_selected", None)
        return actions

    def get_ordering(self, request: HttpRequest) -> list:
        return [
            pending_first("status", OrganisationMember.Status.REQUESTED).asc(),
            "organisation__name",
            "user__username",
        ]

    @admin.action(description=_("Approve selected membership requests"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for membership in queryset.requested().select_related("user", "organisation"):
            membership.approve(by=request.user)
            done += 1
        if not done:
            self.message_user(
                request,
                gettext("None of the selected people had asked to join."),
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            ngettext("%d membership request approved.", "%d membership requests approved.", done)
            % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Decline selected membership requests"), permissions=["change"])
    def decline_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply_move(
            self,
            request,
            queryset.select_related("user", "organisation"),
            lambda membership: membership.decline(by=request.user),
            lambda n: (
                ngettext("%d membership request declined.", "%d membership requests declined.", n)
                % n
            ),
        )


# --- Initiatives ---------------------------------------------------------------------


class ParticipationInline(admin.TabularInline):
    model = Participation
    extra = 0
    autocomplete_fields = ["organisation"]


class InitiativeLinkInline(admin.TabularInline):
    model = InitiativeLink
    extra = 0


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0


class StatusChangeInline(admin.TabularInline):
    """The moderation history: written by the status moves, never by hand."""

    model = InitiativeStatusChange
    fields = ["created", "from_status", "to_status", "changed_by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created", "-pk"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ProgressReportInline(admin.TabularInline):
    """The owners' reports, read here; each is corrected on its own page (ProgressReportAdmin)."""

    model = ProgressReport
    fields = ["reported_on", "status", "phase", "written_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class InitiativeAdminForm(forms.ModelForm):
    """The admin's change form, carrying the version it was loaded from: saving over a newer
    one is refused (nothing saved, the input kept, both versions shown) until the moderator
    ticks "save mine over theirs"."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        loaded = history.token_of(self.instance.pk) if self.instance.pk else ""
        self.version_form = history.VersionForm(
            self.data if self.is_bound else None, initial={"loaded": loaded}
        )
        self.conflict: history.EditConflict | None = None

    def clean(self) -> dict:
        data = super().clean()
        if self.is_bound and self.instance.pk:
            try:
                # Locks the row until the admin's transaction commits the save.
                history.check_version(self.instance.pk, self.version_form.token)
            except history.EditConflict as error:
                self.conflict = error
                raise ValidationError(
                    _(
                        "Someone else saved this initiative after you opened it. Nothing is "
                        "saved yet: see what changed, then save yours over it or start over."
                    ),
                    code="edit_conflict",
                ) from None
        return data

    def conflict_details(self) -> history.Conflict | None:
        """What the template shows of a conflict (the main form's input: rows stay as they are)."""
        if self.conflict is None:
            return None
        return history.conflict(self.conflict, history.state_of_forms(self, {}))


class ChangedSinceReviewFilter(admin.SimpleListFilter):
    """The moderators' queue of published initiatives edited since they last looked."""

    title = _("changed since review")
    parameter_name = "changed_since_review"

    def lookups(self, request: HttpRequest, model_admin) -> list:
        return [("yes", _("Published and changed since the last review"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(changed_since_review=True)
        return queryset


class HistoryPageForm(forms.Form):
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, sent to the submitter"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        error_messages={"required": _("Please write a reason for the rejection.")},
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file"),
        help_text=_("The first row names the columns, as in an export."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=2000)
    publish = forms.BooleanField(
        label=_("Publish them at once (I have checked them)"), required=False
    )


@admin.register(Initiative)
class InitiativeAdmin(
    TextLanguageAdminMixin, ProtectedDeleteAdminMixin, UserFieldsAdminMixin, admin.ModelAdmin
):
    list_display = [
        "title",
        "status",
        "review_link",
        "lead_organisation",
        "phase",
        "place_display",
        "adoption_count",
        "submitted_at",
        "published_at",
    ]
    list_select_related = ["lead_organisation", "municipality", "county"]
    list_filter = [
        "status",
        ChangedSinceReviewFilter,
        "phase",
        "scope",
        "involvement",
        "purposes",
        "goals",
        "focus_areas",
        "actor_types",
    ]
    search_fields = [
        "title",
        "summary",
        "slug",
        "lead_organisation__name",
        # Moderators find everything tied to an address (ideabank/personal_data.py).
        "contact_email",
        "contact_name",
        "created_by__email",
    ]
    autocomplete_fields = [
        "lead_organisation",
        "purposes",
        "actor_types",
        "goals",
        "targets",
        "focus_areas",
        "municipality",
        "county",
        "created_by",
    ]
    prepopulated_fields = {"slug": ["title"]}
    user_fields = ("created_by",)
    readonly_fields = [
        "status",
        "submitted_at",
        "submitted_by",
        "published_at",
        "rejected_at",
        "archived_at",
        "rejection_reason",
        "created",
        "updated",
    ]
    date_hierarchy = "created"
    inlines = [
        ParticipationInline,
        InitiativeLinkInline,
        AttachmentInline,
        ProgressReportInline,
        StatusChangeInline,
    ]
    actions = ["publish_selected", "reject_selected", "archive_selected"]
    form = InitiativeAdminForm
    delete_instead = _(
        "Archive it instead (the “Archive selected initiatives” action): it leaves the public "
        "pages, and the other organisations' adoption reports and the event programmes keep it."
    )
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "language",
                    "summary",
                    "description",
                    "phase",
                    "image",
                    "image_alt",
                ]
            },
        ),
        (
            _("Moderation"),
            {
                "fields": [
                    "status",
                    "rejection_reason",
                    "submitted_at",
                    "submitted_by",
                    "published_at",
                    "rejected_at",
                    "archived_at",
                    "created_by",
                    "created",
                    "updated",
                ]
            },
        ),
        (
            _("Classification"),
            {
                "fields": [
                    "lead_organisation",
                    "purposes",
                    "actor_types",
                    "goals",
                    "targets",
                    "focus_areas",
                    "involvement",
                    "tags",
                ]
            },
        ),
        (
            _("Place and period"),
            {"fields": ["scope", "municipality", "county", "start_date", "end_date"]},
        ),
        (
            _("Collaboration frame"),
            {
                "fields": [
                    "frame_goals",
                    "frame_roles",
                    "frame_financing",
                    "frame_expected_results",
                    "frame_indicators",
                    "frame_effect_shown",
                ]
            },
        ),
        (_("Results"), {"fields": ["results", "lessons", "transfer_value"]}),
        (
            _("Contact"),
            {"fields": ["contact_name", "contact_role", "contact_email", "contact_phone"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .with_review_state()
            .annotate(adoptions_total=Count("adoptions", distinct=True))
        )

    def get_ordering(self, request: HttpRequest) -> list:
        # Submissions waiting for review first, the oldest submission on top of them.
        awaiting_review = Case(
            When(status=Initiative.Status.SUBMITTED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return [awaiting_review.asc(), F("submitted_at").asc(nulls_last=True), "-updated"]

    @admin.display(description=_("place"))
    def place_display(self, obj: Initiative) -> str:
        return obj.place

    @admin.display(description=_("review"))
    def review_link(self, obj: Initiative) -> str:
        if obj.status == Initiative.Status.SUBMITTED:
            label = gettext("Review")
        elif getattr(obj, "changed_since_review", False):
            label = gettext("Review changes")
        else:
            return ""
        return format_html('<a href="{}">{}</a>', self.review_url(obj.pk), label)

    def get_list_display(self, request: HttpRequest) -> list:
        columns = list(super().get_list_display(request))
        if not self.has_moderate_permission(request):
            columns.remove("review_link")
        return columns

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        # The change form links to the review page (templates/admin/initiatives/initiative/).
        extra_context = extra_context or {}
        if self.has_moderate_permission(request):
            extra_context["review_url"] = self.review_url(object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("adoptions"), ordering="adoptions_total")
    def adoption_count(self, obj: Initiative) -> int:
        return obj.adoptions_total

    def save_model(self, request: HttpRequest, obj: Initiative, form, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        if change:
            history.record_baseline(obj.pk)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Tags, goals and partners are saved only now; search reads them all.
        Initiative.objects.filter(pk=form.instance.pk).refresh_search_vectors()
        # The edit history records the whole change (form and inlines) as one revision.
        history.record(
            form.instance, by=request.user, comment=history.ADMIN if change else history.CREATED
        )

    # --- The review page: the submission as it will look, with publish and reject -------

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        review = [
            path("<path:object_id>/review/", wrap(self.review_view), name=f"{info}_review"),
            path(
                "<path:object_id>/review/publish/",
                wrap(require_POST(self.review_publish_view)),
                name=f"{info}_review_publish",
            ),
            path(
                "<path:object_id>/review/reject/",
                wrap(require_POST(self.review_reject_view)),
                name=f"{info}_review_reject",
            ),
            path(
                "<path:object_id>/review/approve-organisation/",
                wrap(require_POST(self.review_approve_organisation_view)),
                name=f"{info}_review_approve_organisation",
            ),
            path(
                "<path:object_id>/review/mark-reviewed/",
                wrap(require_POST(self.review_mark_reviewed_view)),
                name=f"{info}_review_mark_reviewed",
            ),
            path(
                "<path:object_id>/history/<int:version_id>/restore/",
                wrap(self.restore_view),
                name=f"{info}_restore",
            ),
        ]
        bulk_import = [
            path("import/", wrap(self.import_view), name=f"{info}_import"),
            path("import/check/", wrap(self.import_check_view), name=f"{info}_import_check"),
            path(
                "import/confirm/",
                wrap(require_POST(self.import_confirm_view)),
                name=f"{info}_import_confirm",
            ),
        ]
        # Before the defaults: their "<path:object_id>/" would swallow these addresses.
        return bulk_import + review + super().get_urls()

    def changelist_url(self) -> str:
        return reverse(f"{self.admin_site.name}:initiatives_initiative_changelist")

    def review_url(self, pk) -> str:
        return reverse(f"{self.admin_site.name}:initiatives_initiative_review", args=[pk])

    def _initiative_to_review(
        self, request: HttpRequest, object_id: str, queryset: QuerySet | None = None
    ) -> Initiative:
        """The initiative, for moderators only: other staff get 403, an unknown id 404."""
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        if not (object_id.isascii() and object_id.isdigit()):  # "²".isdigit() is true
            raise Http404
        queryset = Initiative.objects.all() if queryset is None else queryset
        initiative = queryset.filter(pk=int(object_id)).first()
        if initiative is None:
            raise Http404
        return initiative

    def review_view(
        self, request: HttpRequest, object_id: str, reject_form: RejectForm | None = None
    ) -> HttpResponse:
        queryset = (
            Initiative.objects.with_details()
            .select_related("created_by")
            .prefetch_related(
                Prefetch(
                    "status_changes",
                    queryset=InitiativeStatusChange.objects.select_related("changed_by"),
                )
            )
        )
        initiative = self._initiative_to_review(request, object_id, queryset)
        status = initiative.status
        # The model refuses these people too; the page does not offer what would be refused.
        own = request.user.pk in initiative.authors()
        lead_is_proposed = not initiative.lead_organisation.is_approved
        changes = history.since_review(initiative)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Review: %(title)s") % {"title": initiative.title},
            "opts": self.opts,
            "initiative": initiative,
            "original": initiative,
            "history": initiative.status_changes.all(),
            "involvement_aim": Initiative.INVOLVEMENT_AIMS.get(initiative.involvement, ""),
            # The front-end preview, as the submitter sees their work.
            "preview_url": reverse("initiatives:preview", args=[initiative.slug]),
            "public_url": initiative.get_absolute_url() if initiative.is_published else "",
            "lead_is_proposed": lead_is_proposed,
            "can_approve_organisation": request.user.has_perm("initiatives.change_organisation"),
            "own_submission": own,
            "can_publish": (
                status in Initiative.TRANSITIONS["publish"][0] and not own and not lead_is_proposed
            ),
            "can_reject": status in Initiative.TRANSITIONS["reject"][0] and not own,
            "reject_form": reject_form or RejectForm(),
            # What changed since a moderator last reviewed it (published or marked reviewed).
            "changes": changes,
            "can_mark_reviewed": initiative.is_published and bool(changes.entries),
            "mark_reviewed_form": history.VersionForm(initial={"loaded": changes.token}),
            "history_url": reverse(
                f"{self.admin_site.name}:initiatives_initiative_history", args=[initiative.pk]
            ),
        }
        return TemplateResponse(request, "admin/initiatives/initiative/review.html", context)

    def review_publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        initiative = self._initiative_to_review(request, object_id)
        try:
            initiative.publish(by=request.user)
        except IllegalTransition as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self.review_url(initiative.pk))
        self.message_user(
            request,
            gettext("“%(title)s” is published; the submitter is told by e-mail.")
            % {"title": initiative.title},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self.changelist_url())

    def review_reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        initiative = self._initiative_to_review(request, object_id)
        form = RejectForm(request.POST)
        if not form.is_valid():
            # Shown again with the error; nothing has changed.
            return self.review_view(request, object_id, reject_form=form)
        try:
            initiative.reject(by=request.user, reason=form.cleaned_data["reason"])
        except IllegalTransition as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self.review_url(initiative.pk))
        self.message_user(
            request,
            gettext("“%(title)s” is sent back to the submitter with your reason.")
            % {"title": initiative.title},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self.changelist_url())

    def review_approve_organisation_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        initiative = self._initiative_to_review(
            request, object_id, Initiative.objects.select_related("lead_organisation")
        )
        if not request.user.has_perm("initiatives.change_organisation"):
            raise PermissionDenied
        organisation = initiative.lead_organisation
        if not organisation.is_approved:
            organisation.approve(by=request.user)
            self.log_change(request, organisation, gettext("Approved the organisation."))
        self.message_user(
            request,
            gettext("The organisation “%(name)s” is approved.") % {"name": organisation.name},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self.review_url(initiative.pk))

    def review_mark_reviewed_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The changes shown on the review page are looked at: off the queue, until the next."""
        initiative = self._initiative_to_review(request, object_id)
        seen = history.VersionForm(request.POST)
        try:
            # The version shown is the one marked, checked and marked with the row locked.
            history.mark_reviewed(initiative, seen.token, by=request.user)
        except history.EditConflict:
            self.message_user(
                request,
                gettext("It was changed again while you looked: here are the newest changes."),
                messages.WARNING,
            )
            return HttpResponseRedirect(self.review_url(initiative.pk))
        self.log_change(request, initiative, gettext("Marked the changes reviewed."))
        self.message_user(
            request,
            gettext("The changes to “%(title)s” are marked reviewed.")
            % {"title": initiative.title},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            f"{self.changelist_url()}?{ChangedSinceReviewFilter.parameter_name}=yes"
        )

    # --- History: every revision with what it changed; moderators restore --------------

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        initiative = self.get_object(request, unquote(object_id))
        if initiative is None:
            raise Http404
        if not self.has_view_or_change_permission(request, initiative):
            raise PermissionDenied
        page_form = HistoryPageForm(request.GET)
        page = (page_form.cleaned_data["page"] if page_form.is_valid() else None) or 1
        entries, older = history.history(initiative.pk, page=page)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("History: %(title)s") % {"title": initiative.title},
            "subtitle": None,
            "opts": self.opts,
            "original": initiative,
            "object": initiative,
            "entries": entries,
            "page": page,
            "older_page": page + 1 if older else None,
            "newer_page": page - 1 if page > 1 else None,
            "can_restore": self.has_moderate_permission(request),
            "review_url": self.review_url(initiative.pk),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "admin/initiatives/initiative/object_history.html", context
        )

    def restore_view(self, request: HttpRequest, object_id: str, version_id: int) -> HttpResponse:
        """Confirm, then bring the initiative back to an earlier version (moderators only)."""
        initiative = self._initiative_to_review(request, object_id)
        version = history.versions_of(initiative.pk).filter(pk=version_id).first()
        if version is None:
            raise Http404
        history_url = reverse(
            f"{self.admin_site.name}:initiatives_initiative_history", args=[initiative.pk]
        )
        when = history.describe(history.RESTORED + version.revision.date_created.isoformat())
        if request.method == "POST":
            skipped = history.restore(version, by=request.user)
            self.log_change(request, initiative, when)
            self.message_user(request, when, messages.SUCCESS)
            if skipped:
                self.message_user(
                    request,
                    gettext("Not restored, as it is no longer there: %(what)s.")
                    % {"what": "; ".join(skipped)},
                    messages.WARNING,
                )
            return HttpResponseRedirect(history_url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Restore an earlier version"),
            "opts": self.opts,
            "original": initiative,
            "version": version,
            "changes": history.restore_preview(version),
            "history_url": history_url,
        }
        return TemplateResponse(
            request, "admin/initiatives/initiative/restore_confirmation.html", context
        )

    # --- Bulk import: upload, dry run, confirm (initiatives/imports.py) -----------------

    def may_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_moderate_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        extra_context = extra_context or {}
        if self.may_import(request):
            extra_context["import_url"] = reverse(
                f"{self.admin_site.name}:initiatives_initiative_import"
            )
        return super().changelist_view(request, extra_context)

    def _import_context(self, request: HttpRequest, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "import_url": reverse(f"{self.admin_site.name}:initiatives_initiative_import"),
            **extra,
        }

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV or XLSX file: it is checked, kept, and its dry run shown."""
        if not self.may_import(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(imports.MAX_BYTES + 1)
            try:
                imports.read_table(upload.name, data)
            except imports.ImportFileError as error:
                form.add_error("file", str(error))
            else:
                token = imports.keep(upload.name, data, by=request.user)
                check = reverse(f"{self.admin_site.name}:initiatives_initiative_import_check")
                return HttpResponseRedirect(f"{check}?{urlencode({'token': token})}")
        context = self._import_context(
            request,
            gettext("Import initiatives"),
            form=form,
            columns=[c for c in exports.COLUMNS if c.imported],
            import_only=sorted(imports.IMPORT_ONLY),
            max_rows=imports.MAX_ROWS,
            max_megabytes=imports.MAX_BYTES // (1024 * 1024),
            template_url=reverse("initiatives:export_xlsx"),
        )
        return TemplateResponse(
            request,
            "admin/initiatives/initiative/import_upload.html",
            context,
            status=400 if form.errors else 200,
        )

    def _kept_upload(self, request: HttpRequest, token: str) -> imports.Kept | None:
        if not self.may_import(request):
            raise PermissionDenied
        upload = imports.kept(token)
        if upload is None:
            self.message_user(
                request,
                gettext("This import has expired or was already done. Upload the file again."),
                messages.ERROR,
            )
        return upload

    def _import_check_page(
        self, request: HttpRequest, upload: imports.Kept, run, form, status: int = 200
    ) -> HttpResponse:
        own = request.user.pk == upload.uploader_id
        context = self._import_context(
            request,
            gettext("Import initiatives: check"),
            upload=upload,
            run=run,
            form=form,
            own_upload=own,
            may_publish=not own,
            email_confirmed=email_confirmed(request.user) if own else True,
            summary=imports.summary(run),
            check_url=request.build_absolute_uri(),
        )
        return TemplateResponse(
            request, "admin/initiatives/initiative/import_check.html", context, status=status
        )

    def import_check_view(self, request: HttpRequest) -> HttpResponse:
        """The dry run: per row, what would be created or what is wrong. Nothing is written."""
        token = request.GET.get("token", "")[:2000]
        upload = self._kept_upload(request, token)
        if upload is None:
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:initiatives_initiative_import")
            )
        run = imports.dry_run(upload.name, upload.read())
        form = ImportConfirmForm(initial={"token": token})
        return self._import_check_page(request, upload, run, form)

    def import_confirm_view(self, request: HttpRequest) -> HttpResponse:
        """Check again (the bank may have changed), then import all rows or none."""
        form = ImportConfirmForm(request.POST)
        token = form.data.get("token", "")[:2000] if form.is_valid() else ""
        upload = self._kept_upload(request, token)
        if upload is None:
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:initiatives_initiative_import")
            )
        own = request.user.pk == upload.uploader_id
        publish = form.cleaned_data["publish"] and not own
        run = imports.dry_run(upload.name, upload.read(), publish=publish)
        submitter = get_user_model().objects.filter(pk=upload.uploader_id).first()
        if submitter is None:
            self.message_user(
                request,
                gettext("The account that uploaded this file no longer exists."),
                messages.ERROR,
            )
            return self._import_check_page(request, upload, run, form, status=409)
        try:
            created = imports.import_rows(
                run, submitter=submitter, publisher=request.user if publish else None
            )
        except imports.ImportRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return self._import_check_page(request, upload, run, form, status=409)
        upload.forget()
        status = Initiative.Status.PUBLISHED if publish else Initiative.Status.SUBMITTED
        done = (
            ngettext(
                "%d initiative imported and published.",
                "%d initiatives imported and published.",
                len(created),
            )  # fmt: skip
            if publish
            else ngettext(
                "%d initiative imported; it awaits review by another moderator.",
                "%d initiatives imported; they await review by another moderator.",
                len(created),
            )  # fmt: skip
        )
        self.message_user(request, done % len(created), messages.SUCCESS)
        return HttpResponseRedirect(f"{self.changelist_url()}?status__exact={status}")

    # --- Moderation actions: they call the model's moves, one initiative at a time ---

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("initiatives.moderate_initiative")

    def _apply(
        self, request: HttpRequest, queryset: QuerySet, move: str, done_message, **kwargs
    ) -> None:
        apply_move(
            self,
            request,
            queryset,
            lambda initiative: getattr(initiative, move)(by=request.user, **kwargs),
            done_message,
        )

    @admin.action(description=_("Publish selected initiatives"), permissions=["moderate"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(
            request,
            queryset,
            "publish",
            lambda n: ngettext("%d initiative published.", "%d initiatives published.", n) % n,
        )

    @admin.action(description=_("Archive selected initiatives"), permissions=["moderate"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._apply(
            request,
            queryset,
            "archive",
            lambda n: ngettext("%d initiative archived.", "%d initiatives archived.", n) % n,
        )

    @admin.action(description=_("Reject selected initiatives…"), permissions=["moderate"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask for the reason on a page of its own, then reject each initiative with it."""
        form = RejectForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            self._apply(
                request,
                queryset,
                "reject",
                lambda n: ngettext("%d initiative rejected.", "%d initiatives rejected.", n) % n,
                reason=form.cleaned_data["reason"],
            )
            return None
        return reason_page(
            self,
            request,
            queryset,
            form,
            action="reject_selected",
            title=_("Reject initiatives"),
            template="admin/initiatives/initiative/reject_confirmation.html",
        )


@admin.register(InitiativeStatusChange)
class InitiativeStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["created", "initiative", "from_status", "to_status", "changed_by"]
    list_select_related = ["initiative", "changed_by"]
    list_filter = ["to_status", "from_status"]
    search_fields = ["initiative__title", "note", "changed_by__email"]
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Only as part of deleting an initiative, which only superusers may do.
        return request.user.is_superuser


class InitiativeRowAdmin(admin.ModelAdmin):
    """Partners, links and attachments changed on their own admin pages: each change is
    recorded in the edit history of the initiative (or initiatives) it touches."""

    @contextmanager
    def recorded(self, request: HttpRequest, pks: Iterable) -> Iterator[None]:
        # In order: each initiative's row is locked (record_baseline), and two bulk deletes
        # locking the same rows in different orders could deadlock.
        pks = sorted({pk for pk in pks if pk is not None})
        with transaction.atomic():
            for pk in pks:
                history.record_baseline(pk)
            yield
            for pk in pks:
                history.record(Initiative(pk=pk), by=request.user, comment=history.ADMIN)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        moved_from = form.initial.get("initiative") if change else None
        with self.recorded(request, [obj.initiative_id, moved_from]):
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj) -> None:
        with self.recorded(request, [obj.initiative_id]):
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with self.recorded(request, queryset.values_list("initiative_id", flat=True)):
            super().delete_queryset(request, queryset)


@admin.register(Participation)
class ParticipationAdmin(InitiativeRowAdmin):
    list_display = ["organisation", "initiative", "role"]
    list_select_related = ["organisation", "initiative"]
    list_filter = ["role"]
    search_fields = ["organisation__name", "initiative__title"]
    autocomplete_fields = ["organisation", "initiative"]


@admin.register(InitiativeLink)
class InitiativeLinkAdmin(InitiativeRowAdmin):
    list_display = ["title", "url", "initiative"]
    list_select_related = ["initiative"]
    search_fields = ["title", "url", "initiative__title"]
    autocomplete_fields = ["initiative"]


@admin.register(Attachment)
class AttachmentAdmin(InitiativeRowAdmin):
    list_display = ["title", "initiative", "created"]
    list_select_related = ["initiative"]
    search_fields = ["title", "initiative__title"]
    autocomplete_fields = ["initiative"]


@admin.register(Adoption)
class AdoptionAdmin(UserFieldsAdminMixin, admin.ModelAdmin):
    list_display = [
        "organisation",
        "initiative",
        "created",
        "reported_by",
        "outcome",
        "feedback_at",
    ]
    list_select_related = ["organisation", "initiative", "reported_by"]
    list_filter = ["outcome"]
    search_fields = [
        "organisation__name",
        "initiative__title",
        "note",
        "effect",
        "reported_by__email",
    ]
    autocomplete_fields = ["organisation", "initiative", "reported_by"]
    user_fields = ("reported_by",)
    date_hierarchy = "created"

    def save_model(self, request: HttpRequest, obj: Adoption, form, change: bool) -> None:
        if not change and obj.reported_by_id is None:
            obj.reported_by = request.user
        super().save_model(request, obj, form, change)


class IndicatorResultInline(admin.TabularInline):
    model = IndicatorResult
    extra = 0


@admin.register(ProgressReport)
class ProgressReportAdmin(TextLanguageAdminMixin, UserFieldsAdminMixin, admin.ModelAdmin):
    """The owners' progress reports: moderators read and correct them here."""

    list_display = ["initiative", "reported_on", "status", "phase", "written_by"]
    list_select_related = ["initiative", "written_by"]
    list_filter = ["status"]
    search_fields = ["initiative__title"]
    autocomplete_fields = ["initiative", "written_by"]
    user_fields = ("written_by",)
    date_hierarchy = "reported_on"
    inlines = [IndicatorResultInline]


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["words", "updated"]
    search_fields = ["words"]

    # Searches already cached used the old list: they are forgotten, so the change shows at once.
    def save_model(self, request: HttpRequest, obj: SearchSynonym, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(search.synonyms_changed)

    def delete_model(self, request: HttpRequest, obj: SearchSynonym) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(search.synonyms_changed)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(search.synonyms_changed)
