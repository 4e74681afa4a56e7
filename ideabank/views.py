"""Site-wide pages (the home page, the pages about the site) and accounts."""

from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ideabank import ratelimit
from ideabank.email import send_to
from ideabank.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SetPasswordForm,
    SignupForm,
)
from ideabank.models import (
    CONFIRMATION_MAX_AGE,
    ConfirmationLinkExpired,
    ConfirmationLinkInvalid,
    confirmation_token,
    email_confirmed,
    language_of,
    profile_for,
    user_for_confirmation_token,
)
from initiatives.engine import engine, in_order
from initiatives.models import (
    ActorType,
    Goal,
    Initiative,
    OrganisationMember,
    Purpose,
)
from networks.models import Network

LATEST_COUNT = 6
# The accessibility statement's own dates: change STATEMENT_UPDATED with every review.
STATEMENT_MADE = date(2026, 11, 23)
STATEMENT_UPDATED = date(2026, 11, 23)


def contact_email() -> str:
    """The address people may write to about the site (accessibility, privacy)."""
    return settings.CONTACT_EMAIL


def home(request: HttpRequest) -> HttpResponse:
    published = Initiative.objects.published()
    actor_types = list(ActorType.objects.all())
    actor_type_groups = [
        (label, [actor_type for actor_type in actor_types if actor_type.group == group])
        for group, label in ActorType.Group.choices
    ]
    # Counted by the facet engine: no scan of the initiatives per visit.
    catalogue = engine()
    counts = {
        "initiatives": catalogue.published_count(),
        "organisations": catalogue.public_organisation_count(),
        "adoptions": catalogue.adoption_count(),
        "networks": Network.objects.count(),
    }
    latest = in_order(
        published.select_related("lead_organisation"),
        catalogue.newest(catalogue.published, 0, LATEST_COUNT),
    )
    return render(
        request,
        "home.html",
        {
            "goals": Goal.objects.all(),
            "actor_type_groups": [(label, types) for label, types in actor_type_groups if types],
            "purposes": Purpose.objects.all(),
            "latest": latest,
            "counts": counts,
        },
    )


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/about.html")


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pages/accessibility.html",
        {
            "contact_email": contact_email(),
            "statement_made": STATEMENT_MADE,
            "statement_updated": STATEMENT_UPDATED,
        },
    )


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/privacy.html", {"contact_email": contact_email()})


# --- Accounts ---------------------------------------------------------------------

# Short windows: a real person who mistypes is kept out for minutes, a script for good.
LOGIN_FAILURES_PER_ACCOUNT = ratelimit.Limit("login-account", limit=10, window=15 * 60)
LOGIN_ATTEMPTS_PER_IP = ratelimit.Limit("login-ip", limit=50, window=15 * 60)
# Generous enough for a workshop signing up together behind one address.
SIGNUPS_PER_IP = ratelimit.Limit("signup-ip", limit=20, window=60 * 60)
CONFIRMATION_MAILS_PER_ACCOUNT = ratelimit.Limit("confirm-resend-account", limit=3, window=15 * 60)
CONFIRMATION_MAILS_PER_IP = ratelimit.Limit("confirm-resend-ip", limit=20, window=60 * 60)
PASSWORD_RESETS_PER_ACCOUNT = ratelimit.Limit("password-reset-account", limit=3, window=15 * 60)
PASSWORD_RESETS_PER_IP = ratelimit.Limit("password-reset-ip", limit=20, window=60 * 60)


class NextForm(forms.Form):
    """Where to go after logging in: the `next` query or hidden field."""

    next = forms.CharField(required=False, max_length=2000)


def _next_url(request: HttpRequest) -> str:
    """A safe `next` address on this site, or ""."""
    form = NextForm(request.POST if request.method == "POST" else request.GET)
    candidate = form.cleaned_data["next"] if form.is_valid() else ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _typed(form: forms.BaseForm, *names: str) -> dict:
    """What the person typed in these fields, to show again on an unchecked form."""
    return {name: str(form[name].value() or "")[:1000] for name in names}


def _start_page(user) -> str:
    """Where a new or newly confirmed account goes on: joining an organisation until it has one."""
    # reverse() here, not at import: the organisation pages are wired in initiatives/urls.py.
    if OrganisationMember.objects.filter(user=user).exists():
        return reverse("initiatives:my_page")
    return reverse("initiatives:organisation_join")


def send_confirmation(user) -> None:
    """E-mail `user` a link that confirms their address, in their language."""
    language = language_of(user)
    with translation.override(language):
        path = reverse("accounts:confirm_email", args=[confirmation_token(user)])
    send_to(
        "email/account_confirm",
        {
            "user": user,
            "confirm_url": f"{settings.SITE_URL}{path}",
            "valid_days": CONFIRMATION_MAX_AGE.days,
        },
        [user],
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if SIGNUPS_PER_IP.too_many(ratelimit.client_ip(request)):
            unchecked = SignupForm(initial=_typed(form, "name", "email"))
            return ratelimit.render_limited(
                request, "accounts/signup.html", {"form": unchecked}, SIGNUPS_PER_IP
            )
        if form.is_valid():
            user = form.save(language=translation.get_language())
            if user is not None:
                send_confirmation(user)
                auth_login(request, user)
                messages.success(
                    request,
                    _(
                        "Welcome! We have sent a link to %(email)s. Open it to confirm your "
                        "e-mail address: you need that before you can share initiatives."
                    )
                    % {"email": user.email},
                )
                return redirect(_start_page(user))
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: mail scanners that open links only ever GET."""
    try:
        user = user_for_confirmation_token(token)
    except (ConfirmationLinkExpired, ConfirmationLinkInvalid) as error:
        return render(
            request,
            "accounts/confirm_email.html",
            {
                "expired": isinstance(error, ConfirmationLinkExpired),
                "can_resend": request.user.is_authenticated and not email_confirmed(request.user),
            },
            status=400,
        )
    if request.method == "POST":
        profile_for(user).confirm_email()
        messages.success(
            request,
            _("Thank you. Your e-mail address %(email)s is confirmed.") % {"email": user.email},
        )
        return redirect(_start_page(user))
    return render(
        request,
        "accounts/confirm_email.html",
        {"confirm_user": user, "already_confirmed": profile_for(user).email_confirmed},
    )


@require_POST
@login_required
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    user = request.user
    if email_confirmed(user):
        messages.info(request, _("Your e-mail address is already confirmed."))
        return redirect("accounts:profile")
    for limit, key in (
        (CONFIRMATION_MAILS_PER_ACCOUNT, str(user.pk)),
        (CONFIRMATION_MAILS_PER_IP, ratelimit.client_ip(request)),
    ):
        if limit.too_many(key):
            return ratelimit.render_limited(request, "accounts/resend_confirmation.html", {}, limit)
    send_confirmation(user)
    messages.success(
        request,
        _("We have sent a new link to %(email)s. It is valid for %(days)d days.")
        % {"email": user.email, "days": CONFIRMATION_MAX_AGE.days},
    )
    return redirect("accounts:profile")


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        typed = _typed(form, "username")
        account = typed["username"].strip().lower()
        # Every attempt counts against the address; only wrong passwords against the account.
        if LOGIN_ATTEMPTS_PER_IP.too_many(ratelimit.client_ip(request)):
            limit = LOGIN_ATTEMPTS_PER_IP
        elif LOGIN_FAILURES_PER_ACCOUNT.reached(account):
            limit = LOGIN_FAILURES_PER_ACCOUNT
        else:
            limit = None
        if limit is not None:
            context = {"form": LoginForm(request, initial=typed), "next": next_url}
            return ratelimit.render_limited(request, "accounts/login.html", context, limit)
        if form.is_valid():
            LOGIN_FAILURES_PER_ACCOUNT.clear(account)
            auth_login(request, form.get_user())
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            LOGIN_FAILURES_PER_ACCOUNT.hit(account)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, _("You are logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    form = ProfileForm(data=request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    memberships = request.user.organisation_memberships.select_related("organisation").order_by(
        "organisation__name"
    )
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "profile": profile, "memberships": memberships},
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with our templates, the mail in the person's language, and rate limits."""

    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "email/account_password_reset.txt"
    subject_template_name = "email/account_password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        typed = _typed(self.get_form(), "email")
        for limit, key in (
            (PASSWORD_RESETS_PER_IP, ratelimit.client_ip(request)),
            (PASSWORD_RESETS_PER_ACCOUNT, typed["email"].strip().lower()),
        ):
            if limit.too_many(key):
                context = self.get_context_data(form=self.form_class(initial=typed))
                return ratelimit.render_limited(request, self.template_name, context, limit)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        # The reset link came to the account's address: that confirms it too.
        with transaction.atomic():
            profile_for(form.user).confirm_email()
            return super().form_valid(form)


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
password_change = auth_views.PasswordChangeView.as_view(
    form_class=PasswordChangeForm,
    template_name="accounts/password_change_form.html",
    success_url=reverse_lazy("accounts:password_change_done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html"
)
