"""Account forms, and the mixin that dresses any form's widgets in Designsystemet's classes."""

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ideabank.email import Recipient, queue_mail
from ideabank.models import Profile, language_of

User = get_user_model()

# The username is the e-mail address, so an address must fit in a username.
EMAIL_MAX_LENGTH = User._meta.get_field("username").max_length
NAME_MAX_LENGTH = User._meta.get_field("first_name").max_length
# What the log-in and password reset forms take (RFC 5321's longest address).
EMAIL_FIELD_MAX_LENGTH = 254


def account_for(email: str):
    """The account a typed e-mail address logs in to, or None: the one rule log-in,
    password reset and their rate limits share.

    Accounts made at sign-up have the lower-cased address as username; accounts made in
    the admin may have another username, found by their address when it is unique.
    `email__iexact` is the database's comparison (PostgreSQL's UPPER() folds dotless ı
    to I), so a limit keyed on the account this returns cannot be dodged by spelling.
    """
    email = email.strip().lower()
    if not email or len(email) > EMAIL_FIELD_MAX_LENGTH:
        return None
    user = User.objects.filter(username=email).first()
    if user is None:
        users = list(User.objects.filter(email__iexact=email)[:2])
        user = users[0] if len(users) == 1 else None
    return user


def accounts_with_address(email: str) -> QuerySet:
    """Every account that has `email` as its address or username, in any letter case:
    those a new account with this address would clash with."""
    email = email.strip()
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))


class IdChoicesField(forms.ModelMultipleChoiceField):
    """Refuses ids no database row can have before asking the database.

    Django guards exact lookups against integers too big for a column, not `__in`:
    on SQLite a forged 20-digit id raised OverflowError (a 500) instead of a form error.
    """

    def _check_values(self, value):
        for pk in value if isinstance(value, list | tuple) else []:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class DesignsystemetMixin:
    """Give every visible widget Designsystemet's `ds-input` class.

    templates/includes/form_field.html renders the field; Django itself adds
    `aria-invalid` and `aria-describedby` (`<id>_helptext`, `<id>_error`), which the
    include gives to the help text and the error message.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widgets = getattr(field.widget, "widgets", [field.widget])
            for widget in widgets:
                if widget.is_hidden:
                    continue
                classes = widget.attrs.get("class", "").split()
                if "ds-input" not in classes:
                    widget.attrs["class"] = " ".join([*classes, "ds-input"])


def _password_help_text() -> str:
    return " ".join(str(text) for text in password_validation.password_validators_help_texts())


class SignupForm(DesignsystemetMixin, forms.Form):
    name = forms.CharField(
        label=_("Full name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_MAX_LENGTH,
        help_text=_("We send a link to this address to confirm it. You log in with it."),
        error_messages={
            "max_length": _(
                "Use an e-mail address of at most %(limit_value)d characters "
                "(this one has %(show_value)d)."
            )
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        # Long enough for any passphrase; the hasher never sees megabytes.
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    error_messages = {
        "similar_to_name": _("The password is too similar to your name."),
        "similar_to_email": _("The password is too similar to your e-mail address."),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Worked out per form so the help text is in the request's language.
        self.fields["password"].help_text = _password_help_text()

    def clean_email(self) -> str:
        # No check for an existing account here: an error would tell anyone which
        # addresses have accounts. save() finds out, and the view answers the same.
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        cleaned_data = super().clean()
        password = cleaned_data.get("password")
        if password:
            # The validators compare the password with the name and the address.
            candidate = User(
                username=cleaned_data.get("email") or "",
                email=cleaned_data.get("email") or "",
                first_name=cleaned_data.get("name") or "",
            )
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", self._in_our_words(error))
        return cleaned_data

    def _in_our_words(self, error: forms.ValidationError) -> forms.ValidationError:
        """Name the fields as the form does: "username" and "first name" would puzzle people.

        The username is the address and the whole name lives in first_name.
        """
        ours = {
            "username": self.error_messages["similar_to_email"],
            "email": self.error_messages["similar_to_email"],
            "first_name": self.error_messages["similar_to_name"],
        }
        names = {str(User._meta.get_field(name).verbose_name): name for name in ours}
        for item in error.error_list:
            name = names.get(str((item.params or {}).get("verbose_name")))
            if item.code == "password_too_similar" and name:
                item.message, item.params = ours[name], {}
        return error

    def save(self, *, language: str):
        """Make the user and their profile; None, with nothing saved, when an account has
        the address already (accounts_with_address)."""
        email = self.cleaned_data["email"]
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        if accounts_with_address(email).exists():
            # Hash the password all the same: a sign-up that skipped the slow hasher would
            # answer faster, and the time would tell that the address has an account.
            make_password(self.cleaned_data["password"])
            return None
        try:
            with transaction.atomic():
                # One field for the whole name (names do not split into first and last
                # everywhere); get_full_name() gives it back.
                user = User.objects.create_user(
                    username=email,
                    email=email,
                    password=self.cleaned_data["password"],
                    first_name=self.cleaned_data["name"].strip(),
                )
                Profile.objects.create(user=user, language=language)
        except IntegrityError:
            # Two sign-ups with one address at the same moment: the other one won.
            return None
        return user


class LoginForm(DesignsystemetMixin, auth_forms.AuthenticationForm):
    """Log in with the e-mail address, in any letter case, and the password."""

    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_FIELD_MAX_LENGTH,
        # "username" lets password managers pair it with the password.
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("The e-mail address or the password is wrong."),
        "inactive": _("This account is closed. Contact us if you need it opened again."),
    }

    def __init__(self, request=None, *args, **kwargs) -> None:
        super().__init__(request, *args, **kwargs)
        # AuthenticationForm sizes the field for a username; an address may be longer.
        self.fields["username"].widget.attrs["maxlength"] = EMAIL_FIELD_MAX_LENGTH

    def clean_username(self) -> str:
        """The username of the account the address typed means (account_for), for the
        backend's exact username lookup; the address itself when none, which fails."""
        email = self.cleaned_data["username"].strip().lower()
        user = account_for(email)
        return user.username if user is not None else email


class ProfileForm(DesignsystemetMixin, forms.ModelForm):
    """The name (on the user), the language of e-mails and how news about what the person
    follows reaches them (on the profile)."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    class Meta:
        model = Profile
        fields = ["language", "follow_mail"]
        widgets = {"follow_mail": forms.RadioSelect}
        help_texts = {
            "follow_mail": _(
                "What is new about the initiatives, organisations, networks, goals and "
                "searches you follow."
            )
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].initial = self.instance.user.get_full_name()
        # Each language named in itself: people look for the one they read.
        self.fields["language"].choices = [
            (code, translation.get_language_info(code)["name_local"].capitalize())
            for code, _name in settings.LANGUAGES
        ]
        # Name first, as people read the form.
        self.order_fields(["name", "language", "follow_mail"])
        # Left out of a post (an older form, a script), the choice stays as it was.
        self.fields["follow_mail"].required = False

    def clean_follow_mail(self) -> str:
        return self.cleaned_data.get("follow_mail") or self.instance.follow_mail

    def save(self, commit: bool = True) -> Profile:
        profile = super().save(commit=False)
        user = profile.user
        user.first_name = self.cleaned_data["name"].strip()
        user.last_name = ""
        with transaction.atomic():
            user.save(update_fields=["first_name", "last_name"])
            profile.save(update_fields=["language", "follow_mail", "updated"])
        return profile


class PasswordResetForm(DesignsystemetMixin, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_FIELD_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def get_users(self, email: str):
        """The account log-in would find for `email` (account_for), if it can log in.

        The link goes to the address the account has, never to the text typed.
        """
        user = account_for(email)
        if user is not None and user.is_active and user.email and user.has_usable_password():
            yield user

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs
    ):
        # Through the outbox like every mail, in the language the person chose, not the page's.
        language = language_of(context["user"])
        with translation.override(language):
            subject = render_to_string(subject_template_name, context)
            body = render_to_string(email_template_name, context)
        queue_mail(Recipient(to_email, language), subject, body, template="password_reset")


class SetPasswordForm(DesignsystemetMixin, auth_forms.SetPasswordForm):
    pass


class PasswordChangeForm(DesignsystemetMixin, auth_forms.PasswordChangeForm):
    pass
