"""Admin pieces both apps use, and the accounts' profiles."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ideabank.models import Profile

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
