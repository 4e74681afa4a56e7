"""Site-wide pages (the home page, the pages about the site) and accounts."""

import unicodedata
from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ideabank import open_data as open_data_description
from ideabank import personal_data, ratelimit
from ideabank.email import send_to
from ideabank.forms import (
    DesignsystemetMixin,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SetPasswordForm,
    SignupForm,
    account_for,
    accounts_with_address,
)
from ideabank.models import (
    CONFIRMATION_MAX_AGE,
    ConfirmationLinkExpired,
    ConfirmationLinkInvalid,
    Follow,
    confirmation_token,
    email_confirmed,
    language_of,
    profile_for,
    user_for_confirmation_token,
)
from initiatives.engine import engine, in_order
from initiatives.filters import Sort
from initiatives.models import (
    ActorType,
    Goal,
    Initiative,
    OrganisationMember,
    Purpose,
)
from networks.models import Network, WorkingGroup

LATEST_COUNT = 6
# This year's working groups on the home page; the list has them all.
HOME_WORKING_GROUPS = 6
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
    this_year = timezone.localdate().year
    working_groups = (
        WorkingGroup.objects.filter(year=this_year)
        .with_progress()
        .with_next_event()
        .order_by("name", "pk")[:HOME_WORKING_GROUPS]
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
            "working_groups": working_groups,
            "this_year": this_year,
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
    return render(
        request, "pages/privacy.html", {"contact_email": contact_email(), "periods": _periods()}
    )


# --- Accounts ---------------------------------------------------------------------

# Limits count what a client address does, never what happens to an account alone: a
# limit on the target lets anyone lock its owner out. Short windows: a real person who
# mistypes is kept out for minutes, a script for good.
LOGIN_ATTEMPTS_PER_IP = ratelimit.Limit("login-ip", limit=50, window=15 * 60)
# Wrong passwords for one account from one address block that address for that account.
LOGIN_FAILURES_PER_ACCOUNT_AND_IP = ratelimit.Limit("login-account-ip", limit=10, window=15 * 60)
# Wrong passwords for one account from every address: past this an address that has
# failed on the account itself is refused too, so a guesser with many addresses gets one
# guess per address. Addresses that have not failed on it are never refused by it: the
# owner's right password from home always gets through.
LOGIN_FAILURES_PER_ACCOUNT = ratelimit.Limit("login-account", limit=20, window=15 * 60)
# Generous enough for a workshop signing up together behind one address.
SIGNUPS_PER_IP = ratelimit.Limit("signup-ip", limit=20, window=60 * 60)
# Sign-ups with an address that has an account mail its owner; this many a day at most.
SIGNUP_ATTEMPT_MAILS_PER_ACCOUNT = ratelimit.Limit("signup-attempt-mail", limit=3, window=86400)
CONFIRMATION_MAILS_PER_ACCOUNT = ratelimit.Limit("confirm-resend-account", limit=3, window=15 * 60)
CONFIRMATION_MAILS_PER_IP = ratelimit.Limit("confirm-resend-ip", limit=20, window=60 * 60)
PASSWORD_RESETS_PER_ACCOUNT_AND_IP = ratelimit.Limit(
    "password-reset-account-ip", limit=3, window=15 * 60
)
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


def _account_key(typed: str) -> str:
    """What limits on a typed address count against: the account it means (account_for,
    the lookup log-in uses), else the text, case-folded."""
    user = account_for(typed)
    if user is not None:
        return f"user:{user.pk}"
    return "typed:" + unicodedata.normalize("NFKC", typed.strip()).casefold()


def _start_page(user) -> str:
    """Where a new or newly confirmed account goes on: joining an organisation until it has one."""
    # reverse() here, not at import: the organisation pages are wired in initiatives/urls.py.
    waiting_or_in = (OrganisationMember.Status.ACTIVE, OrganisationMember.Status.REQUESTED)
    if OrganisationMember.objects.filter(user=user, status__in=waiting_or_in).exists():
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
            email = form.cleaned_data["email"]
            user = form.save(language=translation.get_language())
            if user is not None:
                send_confirmation(user)
            else:
                tell_owners_of_signup_attempt(email)
            # The same answer whether or not the address had an account, so sign-up does
            # not tell anyone which addresses have one; logging in would tell it too.
            messages.success(request, _("We have sent an e-mail to %(email)s.") % {"email": email})
            return redirect("accounts:signup_done")
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_done.html")


def tell_owners_of_signup_attempt(email: str) -> None:
    """Mail the owners of `email` that someone tried to sign up with it, and how to log in."""
    for owner in accounts_with_address(email).filter(is_active=True):
        if not SIGNUP_ATTEMPT_MAILS_PER_ACCOUNT.too_many(str(owner.pk)):
            send_to("email/account_signup_attempt", {"user": owner}, [owner])


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
        if request.user != user:
            # The link proves the mailbox, not the password: log in to go on.
            messages.success(
                request,
                _("Thank you. Your e-mail address %(email)s is confirmed. Log in to go on.")
                % {"email": user.email},
            )
            return redirect_to_login(_start_page(user))
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


def _login_refusal(ip: str, account: str) -> ratelimit.Limit | None:
    """The limit that refuses a log-in attempt before its password is tried, or None.

    Every attempt counts against the address; wrong passwords against (account, address)
    and against the account, which refuses only addresses that have failed on it.
    """
    if LOGIN_ATTEMPTS_PER_IP.too_many(ip):
        return LOGIN_ATTEMPTS_PER_IP
    failures_here = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.hits(f"{account} {ip}")
    if failures_here >= LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit:
        return LOGIN_FAILURES_PER_ACCOUNT_AND_IP
    if failures_here and LOGIN_FAILURES_PER_ACCOUNT.reached(account):
        return LOGIN_FAILURES_PER_ACCOUNT
    return None


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The one log-in form, the admin's included (admin_login), behind its rate limits."""
    next_url = _next_url(request)
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        typed = _typed(form, "username")
        ip = ratelimit.client_ip(request)
        account = _account_key(typed["username"])
        limit = _login_refusal(ip, account)
        if limit is not None:
            context = {"form": LoginForm(request, initial=typed), "next": next_url}
            return ratelimit.render_limited(request, "accounts/login.html", context, limit)
        if form.is_valid():
            LOGIN_FAILURES_PER_ACCOUNT_AND_IP.clear(f"{account} {ip}")
            auth_login(request, form.get_user())
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            LOGIN_FAILURES_PER_ACCOUNT_AND_IP.hit(f"{account} {ip}")
            LOGIN_FAILURES_PER_ACCOUNT.hit(account)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's log-in page sends people to the site's, `next` and all: one form, one
    set of limits. It takes no password itself, whatever the method."""
    next_url = _next_url(request) or reverse("admin:index")
    if request.user.is_active and request.user.is_staff:
        return redirect(next_url)
    if request.user.is_authenticated:
        messages.info(
            request,
            _(
                "You are logged in as %(email)s, which has no access to the administration. "
                "Log in with an account that has."
            )
            % {"email": request.user.email},
        )
    return redirect_to_login(next_url)


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
        {
            "form": form,
            "profile": profile,
            "memberships": memberships,
            "follow_count": Follow.objects.of(request.user).count(),
        },
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
        ip = ratelimit.client_ip(request)
        # The sender is limited, never the account: requests from elsewhere still get through.
        for limit, key in (
            (PASSWORD_RESETS_PER_IP, ip),
            (PASSWORD_RESETS_PER_ACCOUNT_AND_IP, f"{_account_key(typed['email'])} {ip}"),
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


# --- Your data (GDPR) ----------------------------------------------------------------

# Wrong passwords on the delete page, per account: a borrowed session cannot try many.
ACCOUNT_DELETE_FAILURES = ratelimit.Limit("account-delete", limit=5, window=15 * 60)


class DeleteAccountForm(DesignsystemetMixin, forms.Form):
    """The account's password, so a session left open cannot delete the account."""

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                gettext_lazy("That is not your password. Nothing was deleted."),
                code="wrong_password",
            )
        return password


@login_required
@require_http_methods(["GET"])
def my_data_download(request: HttpRequest) -> HttpResponse:
    """The person's data as a JSON file (GDPR articles 15 and 20). A GET: it changes
    nothing, so a plain link works without JavaScript and can be opened again."""
    response = HttpResponse(
        personal_data.export_json(request.user), content_type="application/json; charset=utf-8"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="idebanken-data-{day}.json"'
    # Personal data: never kept by a shared cache or the browser's back button.
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete the account and erase the person's data (GDPR article 17), after the password."""
    user = request.user
    if not personal_data.may_erase_self(user):
        return render(
            request,
            "accounts/delete_account.html",
            {"staff": True, "contact_email": contact_email()},
            status=403,
        )
    key = str(user.pk)
    if request.method == "POST" and ACCOUNT_DELETE_FAILURES.reached(key):
        context = {"form": DeleteAccountForm(user=user), "contact_email": contact_email()}
        return ratelimit.render_limited(
            request, "accounts/delete_account.html", context, ACCOUNT_DELETE_FAILURES
        )
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST":
        if form.is_valid():
            personal_data.erase_account(user)
            auth_logout(request)
            return redirect("accounts:account_deleted")
        ACCOUNT_DELETE_FAILURES.hit(key)
    return render(
        request,
        "accounts/delete_account.html",
        {"form": form, "contact_email": contact_email()},
    )


def account_deleted(request: HttpRequest) -> HttpResponse:
    """The page after deletion: the person is logged out, so it is open to anyone."""
    return render(request, "accounts/delete_account_done.html")


def _periods() -> dict:
    """The retention periods the privacy page states, from settings (never hard-coded)."""
    return {
        "unconfirmed_days": settings.UNCONFIRMED_ACCOUNT_KEEP_DAYS,
        "registration_months": settings.REGISTRATION_KEEP_MONTHS,
        "mail_days": settings.MAIL_KEEP_DAYS,
        "failed_mail_days": settings.FAILED_MAIL_KEEP_DAYS,
        "history_days": settings.HISTORY_KEEP_DAYS,
    }


# --- Open data (ideabank/open_data.py) -------------------------------------------------

TURTLE = "text/turtle"
JSON_LD = "application/ld+json"


def open_data(request: HttpRequest) -> HttpResponse:
    """The «Åpne data» page: what machines can read, where, under which licence."""
    return render(
        request,
        "pages/open_data.html",
        {
            "site_url": settings.SITE_URL,
            "api_base": open_data_description.API_BASE,
            "api_docs": open_data_description.API_DOCS,
            "api_schema": open_data_description.API_SCHEMA,
            "api_requests_per_minute": getattr(settings, "API_REQUESTS_PER_MINUTE", 600),
            "page_size_max": open_data_description.API_PAGE_SIZE_MAX,
            # The values the list's own filters accept, so the page never lists stale ones.
            "choices": {
                "group": ActorType.Group.values,
                "phase": Initiative.Phase.values,
                "involvement": Initiative.Involvement.values,
                "sort": [value for value, _label in Sort.CHOICES],
            },
            "licence": open_data_description.licence(),
            "publisher_name": settings.DATA_PUBLISHER_NAME,
            "contact_email": settings.DATA_CONTACT_EMAIL,
        },
    )


def _catalogue_response(media_type: str) -> HttpResponse:
    graph = open_data_description.catalogue()
    if media_type == JSON_LD:
        body, suffix = open_data_description.json_ld(graph), ".jsonld"
    else:
        body, suffix = open_data_description.turtle(graph), ".ttl"
    response = HttpResponse(body, content_type=f"{media_type}; charset=utf-8")
    response["Content-Location"] = f"{open_data_description.CATALOGUE_PATH}{suffix}"
    # Harvesters and tools in a browser may read it from anywhere; it holds nothing private.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_safe
def dcat_turtle(request: HttpRequest) -> HttpResponse:
    return _catalogue_response(TURTLE)


@require_safe
def dcat_jsonld(request: HttpRequest) -> HttpResponse:
    return _catalogue_response(JSON_LD)


@require_safe
def dcat_catalogue(request: HttpRequest) -> HttpResponse:
    """The description at one address in the format the Accept header prefers (Turtle
    unless JSON-LD is preferred); the two suffixed addresses give each format directly."""
    preferred = request.get_preferred_type([TURTLE, JSON_LD])
    response = _catalogue_response(JSON_LD if preferred == JSON_LD else TURTLE)
    response["Vary"] = "Accept"
    return response
