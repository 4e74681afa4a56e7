"""Account forms, and the mixin that dresses any form's widgets in Designsystemet's classes."""

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ideabank.email import Recipient, queue_mail
from ideabank.models import Profile, language_of

User = get_user_model()

# The username is the e-mail address, so an address must fit in a username.
EMAIL_MAX_LENGTH = User._meta.get_field("username").max_length
NAME_MAX_LENGTH = User._meta.get_field("first_name").max_length


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
        "email_taken": _(
            "There is already an account with this e-mail address. Log in, or ask for a new "
            "password if you have forgotten it."
        ),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Worked out per form so the help text is in the request's language.
        self.fields["password"].help_text = _password_help_text()

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if (
            User.objects.filter(email__iexact=email).exists()
            or User.objects.filter(username__iexact=email).exists()
        ):
            raise forms.ValidationError(self.error_messages["email_taken"], code="email_taken")
        return email

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
        """Make the user and their profile; None when the address was taken meanwhile."""
        email = self.cleaned_data["email"]
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
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
            self.add_error("email", self.error_messages["email_taken"])
            return None
        return user


class LoginForm(DesignsystemetMixin, auth_forms.AuthenticationForm):
    """Log in with the e-mail address, in any letter case, and the password."""

    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
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
        self.fields["username"].widget.attrs["maxlength"] = 254

    def clean_username(self) -> str:
        """The username that belongs to the address typed.

        Accounts made at sign-up have the lower-cased address as username; accounts
        made in the admin may have another username, found by their address when it
        is unique.
        """
        email = self.cleaned_data["username"].strip().lower()
        if User.objects.filter(username=email).exists():
            return email
        usernames = list(User.objects.filter(email__iexact=email).values_list("username")[:2])
        if len(usernames) == 1:
            return usernames[0][0]
        return email


class ProfileForm(DesignsystemetMixin, forms.ModelForm):
    """The name (on the user) and the language of e-mails (on the profile)."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    class Meta:
        model = Profile
        fields = ["language"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].initial = self.instance.user.get_full_name()
        # Each language named in itself: people look for the one they read.
        self.fields["language"].choices = [
            (code, translation.get_language_info(code)["name_local"].capitalize())
            for code, _name in settings.LANGUAGES
        ]
        # Name first, as people read the form.
        self.order_fields(["name", "language"])

    def save(self, commit: bool = True) -> Profile:
        profile = super().save(commit=False)
        user = profile.user
        user.first_name = self.cleaned_data["name"].strip()
        user.last_name = ""
        with transaction.atomic():
            user.save(update_fields=["first_name", "last_name"])
            profile.save(update_fields=["language", "updated"])
        return profile


class PasswordResetForm(DesignsystemetMixin, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

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
