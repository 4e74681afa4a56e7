"""Admin pieces both apps use, and the accounts' profiles."""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects, unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ideabank import email, moderation, personal_data
from ideabank.models import (
    Comment,
    CommentModeration,
    CommentReport,
    Follow,
    OutgoingMail,
    Profile,
)

User = get_user_model()


class UserFieldsAdminMixin:
    """Fields that point at user accounts are read-only to staff who may not see users.

    Picking a user needs the user list (Django's autocomplete checks view permission on
    User); moderators may not see it, so they see these fields but cannot change them.
    """

    user_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("auth.view_user"):
            fields += [name for name in self.user_fields if name not in fields]
        return fields


class TextLanguageAdminMixin:
    """The language an object's text is written in (ideabank.models.text_language_field),
    preset to nb. The select always sends a choice; a post without one keeps the model's
    default, as the submission form does."""

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "language" and field is not None:
            field.required = False
        return field


class ProtectedDeleteAdminMixin:
    """A delete that other people's data stands in the way of is refused with a message
    that names what blocks it and says what to do instead (`delete_instead`).

    The blocking rows are those the foreign keys protect (on_delete=PROTECT); Django's
    delete page lists them one by one and deletes nothing. This adds the message, on the
    delete page of one object and on the bulk "delete selected" action alike.
    """

    delete_instead = ""

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            for obj in objs:
                blockers = delete_blockers(obj)
                if blockers:
                    messages.error(
                        request,
                        _("“%(object)s” cannot be deleted: it has %(blockers)s. %(instead)s")
                        % {"object": obj, "blockers": blockers, "instead": self.delete_instead},
                    )
        return deleted, model_count, perms_needed, protected


def delete_blockers(obj) -> str:
    """What keeps `obj` from being deleted, counted by kind: "2 registrations, 1 adoption"."""
    collector = NestedObjects(using=router.db_for_write(obj._meta.model))
    collector.collect([obj])
    counts = Counter(type(blocker)._meta for blocker in collector.protected)
    return ", ".join(
        f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"
        for opts, count in sorted(counts.items(), key=lambda item: str(item[0].verbose_name))
    )


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["language", "email_confirmed_at"]
    verbose_name_plural = _("profile")


# The user pages show the profile (language, e-mail confirmed) with the account.
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [*DjangoUserAdmin.inlines, ProfileInline]
    list_display = [*DjangoUserAdmin.list_display, "email_confirmed"]
    list_select_related = ["profile"]

    @admin.display(boolean=True, description=_("e-mail confirmed"))
    def email_confirmed(self, user) -> bool:
        # Accounts made in the admin may have no profile yet.
        profile = getattr(user, "profile", None)
        return bool(profile and profile.email_confirmed)

    def delete_model(self, request: HttpRequest, obj) -> None:
        # Deleting an account here erases the person's data as their own request would
        # (GDPR article 17), without the receipt: ideabank/personal_data.py.
        personal_data.erase_account(obj, receipt=False)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            personal_data.erase_account(user, receipt=False)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "email_confirmed_at"]
    list_filter = ["language", ("email_confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email", "user__first_name"]
    list_select_related = ["user"]
    readonly_fields = ["user", "created", "updated"]
    fields = ["user", "language", "email_confirmed_at", "created", "updated"]
    actions = ["confirm_emails"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Profiles are made at sign-up, or on first use for accounts made in the admin.
        return False

    @admin.action(description=_("Mark the e-mail addresses as confirmed"))
    def confirm_emails(self, request: HttpRequest, queryset) -> None:
        for profile in queryset.filter(email_confirmed_at__isnull=True):
            profile.confirm_email()
        self.message_user(request, _("The e-mail addresses are confirmed."))


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    """The outbox: what went, what waits for another try, and what failed (send again)."""

    list_display = ["created", "to", "subject", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "template", "language"]
    search_fields = ["to", "reply_to", "subject"]
    date_hierarchy = "created"
    fields = [
        "to",
        "language",
        "template",
        "subject",
        "body",
        "reply_to",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Mails are read, not edited; the action is the one way to change one.
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ideabank.resend_outgoingmail")

    @admin.action(description=_("Send the failed mails again"), permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset) -> None:
        count = email.send_again(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d failed mail is queued to be sent again.",
                "%(count)d failed mails are queued to be sent again.",
                count,
            )
            % {"count": count},
        )


def reason_page(model_admin, request: HttpRequest, queryset, form, *, action: str, title, template):
    """The page an admin action shows to ask for a reason before it acts on the selected
    rows (admin/reason_confirmation.html and the template extending it)."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.model._meta,
            "form": form,
            "objects": queryset,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


# --- Comments: the moderators' queue of reports, hiding and restoring -------------------


class CommentReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, sent to the comment's author"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,  # CommentModeration.reason
        error_messages={"required": _("Please write a reason: the author is told it.")},
    )


class ReportedFilter(admin.SimpleListFilter):
    """The moderators' queue: comments with reports nobody has dealt with yet."""

    title = _("reports")
    parameter_name = "reported"

    def lookups(self, request: HttpRequest, model_admin) -> list:
        return [("open", _("Reported, not handled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.with_open_reports()
        return queryset


class VisibilityFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "visibility"

    def lookups(self, request: HttpRequest, model_admin) -> list:
        return [("shown", _("Shown")), ("hidden", _("Hidden by a moderator"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "shown":
            return queryset.shown()
        if self.value() == "hidden":
            return queryset.exclude(pk__in=Comment.objects.shown().values("pk"))
        return queryset


class ReadOnlyInline(admin.TabularInline):
    """History rows shown on the comment's page, written only by what happened."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SuperuserDeletesOnly:
    """Nobody but a superuser deletes comments or their reports: hidden comments and the
    reports about them stay in the history."""

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions


class CommentReportInline(ReadOnlyInline):
    model = CommentReport
    fields = ["created", "reporter", "reason", "handled_at", "handled_by"]
    readonly_fields = fields
    ordering = ["-created", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reporter", "handled_by")


class CommentModerationInline(ReadOnlyInline):
    model = CommentModeration
    fields = ["created", "action", "reason", "by"]
    readonly_fields = fields
    ordering = ["-created", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


def where_link(comment: Comment) -> str:
    """The public page the comment is on, named by kind (the rows come with it)."""
    label = gettext("Initiative") if comment.initiative_id else gettext("Network")
    page = comment.page
    return format_html('{}: <a href="{}">{}</a>', label, page.get_absolute_url(), page)


@admin.register(Comment)
class CommentAdmin(SuperuserDeletesOnly, admin.ModelAdmin):
    """The queue of reported comments, open reports first. Moderators read what people
    wrote and decide (hide or restore with a reason the author gets by e-mail, or dismiss
    the reports); they never edit it, and only superusers delete: a hidden comment stays
    in the history (ideabank.moderation)."""

    list_display = [
        "excerpt",
        "open_report_count",
        "kind",
        "where",
        "author",
        "organisation",
        "created",
        "is_hidden",
        "is_deleted",
    ]
    list_select_related = ["author", "organisation", "initiative", "network"]
    list_filter = [ReportedFilter, VisibilityFilter, "kind"]
    search_fields = [
        "body",
        "author__email",
        "author__username",
        "author__first_name",
        "author__last_name",
    ]
    date_hierarchy = "created"
    fields = [
        "where",
        "kind",
        "parent",
        "author",
        "organisation",
        "body",
        "language",
        "created",
        "edited_at",
        "deleted_at",
        "answer_marked_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    ]
    # What people wrote is theirs: moderators decide on it with the actions, never edit it.
    readonly_fields = fields
    inlines = [CommentReportInline, CommentModerationInline]
    actions = ["hide_selected", "restore_selected", "dismiss_reports"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("author", "organisation", "initiative", "network", "hidden_by")
            .with_open_report_count()
        )

    def get_ordering(self, request: HttpRequest) -> list:
        # The queue first: comments with open reports, the most reported on top.
        return [F("open_reports").desc(), "-created"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Comments are written on the site, by their authors.
        return False

    def save_model(self, request: HttpRequest, obj: Comment, form, change: bool) -> None:
        # Nothing on the page is editable, and saving the copy loaded with the page could
        # undo a decision another moderator took meanwhile: decisions go through
        # ideabank.moderation, never through save().
        pass

    @admin.display(description=_("comment"))
    def excerpt(self, comment: Comment) -> str:
        if comment.is_deleted:
            return gettext("(deleted)")
        return Truncator(comment.body).chars(80)

    @admin.display(description=_("open reports"), ordering="open_reports")
    def open_report_count(self, comment: Comment) -> int:
        return comment.open_reports

    @admin.display(description=_("where"))
    def where(self, comment: Comment) -> str:
        return where_link(comment)

    @admin.display(description=_("hidden"), boolean=True)
    def is_hidden(self, comment: Comment) -> bool:
        return comment.is_hidden

    @admin.display(description=_("deleted"), boolean=True)
    def is_deleted(self, comment: Comment) -> bool:
        return comment.is_deleted

    # --- Deciding: the actions on the list, and the same on one comment's page ------------

    def _decide_many(self, request: HttpRequest, queryset: QuerySet, decision: str):
        """Ask for the reason on a page of its own, then hide or restore each comment."""
        move, title, done_message, skipped_message = self.DECISIONS[decision]
        form = CommentReasonForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return reason_page(
                self,
                request,
                queryset,
                form,
                action=f"{decision}_selected",
                title=title,
                template=f"admin/ideabank/comment/{decision}_confirmation.html",
            )
        done = skipped = 0
        for comment in queryset:
            if move(comment, by=request.user, reason=form.cleaned_data["reason"]):
                self.log_change(request, comment, str(title))
                done += 1
            else:
                skipped += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        if skipped:
            self.message_user(request, skipped_message(skipped), messages.WARNING)
        return None

    @admin.action(description=_("Hide selected comments…"), permissions=["change"])
    def hide_selected(self, request: HttpRequest, queryset: QuerySet):
        return self._decide_many(request, queryset, "hide")

    @admin.action(description=_("Show selected hidden comments again…"), permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet):
        return self._decide_many(request, queryset, "restore")

    @admin.action(
        description=_("Dismiss the reports on selected comments (nothing wrong)"),
        permissions=["change"],
    )
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = moderation.dismiss_reports(queryset, by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d report marked handled; the comments are left as they are.",
                "%(count)d reports marked handled; the comments are left as they are.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    # decision: (the move, the page's title, what is said after it, what about those left).
    DECISIONS = {
        "hide": (
            moderation.hide_comment,
            _("Hide comments"),
            lambda n: (
                ngettext(
                    "%d comment hidden; its author is told why.",
                    "%d comments hidden; their authors are told why.",
                    n,
                )
                % n
            ),
            lambda n: (
                ngettext("%d comment was hidden already.", "%d comments were hidden already.", n)
                % n
            ),
        ),
        "restore": (
            moderation.restore_comment,
            _("Show comments again"),
            lambda n: (
                ngettext(
                    "%d comment shown again; its author is told.",
                    "%d comments shown again; their authors are told.",
                    n,
                )
                % n
            ),
            lambda n: ngettext("%d comment was not hidden.", "%d comments were not hidden.", n) % n,
        ),
    }

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        # Before the defaults, whose "<path:object_id>/" would swallow these addresses.
        return [
            path(
                f"<path:object_id>/{decision}/",
                wrap(self.decide_view),
                {"decision": decision},
                name=f"{info}_{decision}",
            )
            for decision in self.DECISIONS
        ] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        # No save button: nothing on the page is edited (templates/admin/ideabank/comment/).
        extra_context = {
            "show_save": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def decide_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        """One comment's "Hide…" or "Show again…": the reason asked on GET, done on POST."""
        comment = self.get_object(request, unquote(object_id))
        if comment is None:
            raise Http404
        if not self.has_change_permission(request, comment):
            raise PermissionDenied
        move, title, done_message, _skipped = self.DECISIONS[decision]
        change_url = reverse(f"{self.admin_site.name}:ideabank_comment_change", args=[comment.pk])
        form = CommentReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            if move(comment, by=request.user, reason=form.cleaned_data["reason"]):
                self.log_change(request, comment, str(title))
                self.message_user(request, done_message(1), messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    gettext("Nothing changed: another moderator decided first."),
                    messages.WARNING,
                )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": comment,
            "decision": decision,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(
            request,
            "admin/ideabank/comment/decide.html",
            context,
            status=400 if form.errors else 200,
        )


@admin.register(CommentReport)
class CommentReportAdmin(SuperuserDeletesOnly, admin.ModelAdmin):
    """Every report, newest first; the decisions are taken on the comment (its link)."""

    list_display = ["created", "comment_link", "reason_excerpt", "reporter", "handled_at"]
    list_select_related = ["comment", "reporter"]
    list_filter = [("handled_at", admin.EmptyFieldListFilter)]
    search_fields = ["reason", "comment__body", "reporter__email"]
    date_hierarchy = "created"
    fields = ["comment_link", "reporter", "reason", "created", "handled_at", "handled_by"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("comment"))
    def comment_link(self, report: CommentReport) -> str:
        url = reverse(f"{self.admin_site.name}:ideabank_comment_change", args=[report.comment_id])
        comment = report.comment
        text = gettext("(deleted)") if comment.is_deleted else Truncator(comment.body).chars(60)
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description=_("what is wrong"))
    def reason_excerpt(self, report: CommentReport) -> str:
        return Truncator(report.reason).chars(80)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    """What people follow, to answer their questions (support): read, never changed here."""

    list_display = ["user", "kind", "target", "created"]
    list_select_related = ["user", "initiative", "organisation", "network", "goal"]
    list_filter = ["kind"]
    search_fields = ["user__email", "user__username", "search"]
    date_hierarchy = "created"
    fields = ["user", "kind", "initiative", "organisation", "network", "goal", "search", "created"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("follows"))
    def target(self, follow: Follow) -> str:
        return str(follow.target) or "—"  # an empty search: every new initiative
