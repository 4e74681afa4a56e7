"""Admin pieces both apps use."""

from django.http import HttpRequest


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
