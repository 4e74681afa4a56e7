"""Admin pieces both apps use, and the accounts' profiles."""

from collections import Counter

from django.contrib import admin, messages
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import router
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ideabank import email, personal_data
from ideabank.models import OutgoingMail, Profile

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
