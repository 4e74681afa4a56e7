"""Following things (issue 15): initiatives, organisations, networks, SDG goals and saved
searches of the initiative list; and leaving follow mails without logging in.

What is new for a follow is found and mailed by ideabank.notices; this module is what a
person does: follow, stop following, see what they follow, and unsubscribe from a link in
a mail. Which follows are a person's own is FollowQuerySet.of; what may be followed is the
public rule of each thing (published initiatives, approved organisations).
"""

from collections import defaultdict
from collections.abc import Iterable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from ideabank.decorators import confirmed_email_required
from ideabank.models import (
    Follow,
    FollowMail,
    Profile,
    language_of,
    profile_for,
    read_unsubscribe_token,
    unsubscribe_token,
)
from initiatives import engine
from initiatives.facets import FACETS, _reference_choices, campaign_model
from initiatives.filters import InitiativeFilter
from initiatives.models import (
    ActorType,
    Goal,
    Initiative,
    Municipality,
    Organisation,
    Target,
    public_tags,
)
from initiatives.views import clean_query, feed_query, understood
from networks.models import Network

# More is a script, not a person reading what they follow: the digest stays readable.
MAX_FOLLOWS = 200
SEARCH_MAX_LENGTH = Follow._meta.get_field("search").max_length
# A signed [user id, follow id] is some 40 characters; anything far longer is not ours.
TOKEN_MAX_LENGTH = 200


def unsubscribe_url(user, follow: Follow | None = None) -> str:
    """The absolute address that stops `follow` (or, without one, every follow mail to
    `user`) without logging in: for the mail's footer and its List-Unsubscribe header. In
    the person's language, so the page they land on speaks it."""
    with translation.override(language_of(user)):
        path = reverse("accounts:unsubscribe", args=[unsubscribe_token(user, follow)])
    return f"{settings.SITE_URL}{path}"


# --- Saved searches: a state of the initiative list, in words -----------------------------


def search_state(data: QueryDict) -> str:
    """The list state `data` (already checked by the list's own rules) as a saved search:
    feed_query's choices and text, keys in a fixed order and values sorted, so the same
    search chosen in another order is the same follow."""
    ordered = QueryDict(mutable=True)
    for key in ("q", *FACETS):
        values = sorted(v for v in data.getlist(key) if v)
        if values:
            ordered.setlist(key, values)
    return feed_query(ordered)


def search_list_url(search: str) -> str:
    """The initiative list showing a saved search."""
    return reverse("initiatives:list") + (f"?{search}" if search else "")


def search_descriptions(searches: Iterable[str]) -> dict[str, str]:
    """Each saved search in words ("Search: bike; SDG goal: 11. Sustainable cities"), like
    the list's chips, in the active language. A fixed number of queries however many
    searches: one per kind of value that is not reference data (cached by the list)."""
    parsed = {search: QueryDict(search) for search in set(searches)}
    if not parsed:
        return {}
    wanted = defaultdict(set)
    for data in parsed.values():
        for key in data:
            wanted[key].update(data.getlist(key))
    labels: dict[tuple[str, str], str] = {}
    for name, rows in _reference_choices().items():
        labels.update(((name, str(value)), label) for value, _key, label in rows)
    enums = {
        "group": ActorType.Group.choices,
        "phase": Initiative.Phase.choices,
        "involvement": Initiative.Involvement.choices,
        "adopted": InitiativeFilter.base_filters["adopted"].extra["choices"],
        "updated": InitiativeFilter.base_filters["updated"].extra["choices"],
    }
    for name, choices in enums.items():
        labels.update(((name, str(value)), label) for value, label in choices)
    lookups = {
        # Only tags the public may learn of, as on the list (a draft's would show through).
        "tag": lambda slugs: ((t.slug, t.name) for t in public_tags().filter(slug__in=slugs)),
        "campaign": lambda slugs: (
            (c.slug, c.title) for c in campaign_model().objects.filter(slug__in=slugs)
        ),
        "target": lambda codes: (
            (t.code, f"{t.code} {t.text}") for t in Target.objects.filter(code__in=codes)
        ),
        "municipality": lambda numbers: (
            (m.number, m.name) for m in Municipality.objects.filter(number__in=numbers)
        ),
    }
    for name, lookup in lookups.items():
        if wanted[name]:
            labels.update(((name, value), label) for value, label in lookup(wanted[name]))
    described = {}
    for search, data in parsed.items():
        parts = [_("Search: %(text)s") % {"text": data["q"]}] if data.get("q") else []
        for name in FACETS:
            filter_label = InitiativeFilter.base_filters[name].label
            for value in data.getlist(name):
                parts.append(f"{filter_label}: {labels.get((name, value), value)}")
        described[search] = "; ".join(parts) if parts else _("All new initiatives")
    return described


def named(follows: list[Follow]) -> list[dict]:
    """What each follow is, for a person to read: its name and the page it is about. The
    follows come with their targets (select_related); searches are described together."""
    searches = search_descriptions(f.search for f in follows if f.kind == Follow.Kind.SEARCH)
    rows = []
    for follow in follows:
        # People's texts carry their language; a goal's name and a search are the page's.
        lang = ""
        if follow.kind in (Follow.Kind.INITIATIVE, Follow.Kind.ORGANISATION, Follow.Kind.NETWORK):
            thing = follow.target
            name, url, lang = str(thing), thing.get_absolute_url(), thing.language
            # Archived or withdrawn since: still theirs to stop following, but no page.
            if follow.kind == Follow.Kind.INITIATIVE and not thing.is_published:
                url = ""
        elif follow.kind == Follow.Kind.GOAL:
            name = _("Goal %(number)s: %(short)s") % {
                "number": follow.goal.number,
                "short": follow.goal.short,
            }
            url = reverse("initiatives:goal", args=[follow.goal.number])
        else:
            name, url = searches[follow.search], search_list_url(follow.search)
        rows.append(
            {
                "follow": follow,
                "kind": follow.get_kind_display(),
                "name": name,
                "url": url,
                "lang": lang,
            }
        )
    return rows


def with_targets(follows):
    """Follows with what the list of them shows, in one query."""
    return follows.select_related("initiative", "organisation", "network", "goal").defer(
        # The search indexes, which no page shows (as InitiativeQuerySet.published).
        "initiative__search_vector",
        "initiative__facet_keys",
    )


# --- Following and stopping ----------------------------------------------------------------


class NextForm(forms.Form):
    """Where to go back to after following: the page the button was on."""

    next = forms.CharField(required=False, max_length=2000)


def _back(request: HttpRequest, fallback: str) -> str:
    """A safe `next` on this site (url_has_allowed_host_and_scheme), else `fallback`."""
    form = NextForm(request.POST)
    candidate = form.cleaned_data["next"] if form.is_valid() else ""
    if (
        candidate
        and "\x00" not in candidate
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return fallback


def _follow(request: HttpRequest, follow: Follow, name: str, fallback: str) -> HttpResponse:
    """Save `follow` for the person unless they already follow it (a double click, two tabs:
    the unique constraints have the last word) or follow MAX_FOLLOWS things already."""
    back = _back(request, fallback)
    follow.user = request.user
    mine = Follow.objects.of(request.user)
    # The field that names what is followed is the kind's own (Follow's check constraint).
    same = mine.filter(kind=follow.kind, **{follow.kind: getattr(follow, follow.kind)})
    if same.exists():
        messages.info(request, _("You already follow %(name)s.") % {"name": name})
        return redirect(back)
    # Two requests at once may both pass this count; the cap is a brake, not a guarantee.
    if mine.count() >= MAX_FOLLOWS:
        messages.error(
            request,
            _(
                "You follow %(limit)s things already, which is as many as you can. Stop "
                "following something on your profile first."
            )
            % {"limit": MAX_FOLLOWS},
        )
        return redirect(back)
    try:
        with transaction.atomic():
            follow.save()
    except IntegrityError:
        pass  # the other click got there first: followed all the same
    messages.success(
        request,
        _("You follow %(name)s. What is new comes by e-mail as you chose on your profile.")
        % {"name": name},
    )
    return redirect(back)


@require_POST
@confirmed_email_required
def follow_initiative(request: HttpRequest, slug: str) -> HttpResponse:
    # Only what the public sees can be followed: a draft's address is 404 here too.
    initiative = get_object_or_404(Initiative.objects.published(), slug=slug)
    follow = Follow(kind=Follow.Kind.INITIATIVE, initiative=initiative)
    return _follow(request, follow, initiative.title, initiative.get_absolute_url())


@require_POST
@confirmed_email_required
def follow_organisation(request: HttpRequest, slug: str) -> HttpResponse:
    # A proposed organisation has no public page until a moderator approves it.
    organisation = get_object_or_404(Organisation.objects.approved(), slug=slug)
    follow = Follow(kind=Follow.Kind.ORGANISATION, organisation=organisation)
    return _follow(request, follow, organisation.name, organisation.get_absolute_url())


@require_POST
@confirmed_email_required
def follow_network(request: HttpRequest, slug: str) -> HttpResponse:
    network = get_object_or_404(Network, slug=slug)
    follow = Follow(kind=Follow.Kind.NETWORK, network=network)
    return _follow(request, follow, network.name, network.get_absolute_url())


@require_POST
@confirmed_email_required
def follow_goal(request: HttpRequest, number: int) -> HttpResponse:
    goal = get_object_or_404(Goal, number=number)
    follow = Follow(kind=Follow.Kind.GOAL, goal=goal)
    name = _("goal %(number)s: %(short)s") % {"number": goal.number, "short": goal.short}
    return _follow(request, follow, name, reverse("initiatives:goal", args=[goal.number]))


@require_POST
@confirmed_email_required
def follow_search(request: HttpRequest) -> HttpResponse:
    """Follow the initiative list's state: the form posts to this address with the list's
    query string, which is checked by the list's own rules (clean_query, understood). Only
    what the list understood is saved; nothing at all means every new initiative."""
    data, problems = clean_query(request)
    query = understood(data, {}, engine.engine().version)
    search = search_state(query.data)
    list_url = search_list_url(search)
    if len(search) > SEARCH_MAX_LENGTH:
        messages.error(
            request,
            _(
                "This search is too long to follow (more than %(limit)s characters). "
                "Choose fewer filters or a shorter search text."
            )
            % {"limit": SEARCH_MAX_LENGTH},
        )
        return redirect(_back(request, list_url))
    for problem in problems + query.problems:
        messages.warning(request, problem)
    if search:
        name = _("the search “%(search)s”") % {"search": search_descriptions([search])[search]}
    else:
        name = _("all new initiatives (no filter or search text chosen)")
    return _follow(request, Follow(kind=Follow.Kind.SEARCH, search=search), name, list_url)


@require_POST
@login_required
def follow_stop(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop one follow of one's own. Already gone (a double click) or someone else's: the
    same message, which tells nothing about other people's follows. No confirmed address
    needed: stopping is always allowed."""
    back = _back(request, reverse("accounts:follows"))
    follow = with_targets(Follow.objects.of(request.user)).filter(pk=pk).first()
    if follow is None:
        messages.info(request, _("You do not follow that any more."))
        return redirect(back)
    name = named([follow])[0]["name"]
    follow.delete()
    messages.success(request, _("You no longer follow %(name)s.") % {"name": name})
    return redirect(back)


@login_required
def follow_list(request: HttpRequest) -> HttpResponse:
    """Everything the person follows, each with a button to stop, in a fixed number of
    queries; and how news about it reaches them (chosen on the profile)."""
    follows = list(with_targets(Follow.objects.of(request.user)))
    return render(
        request,
        "accounts/follow_list.html",
        {
            "rows": named(follows),
            "profile": profile_for(request.user),
            "max_follows": MAX_FOLLOWS,
        },
    )


# --- Unsubscribing from a mail, without logging in ----------------------------------------


# The signed token is the credential, not a session: a mail program's RFC 8058 one-click
# POST ("List-Unsubscribe=One-Click") has no cookie and no CSRF token, and a forged
# request can do no more than what the token in its address already allows, which is to
# stop mail. So no CSRF check here.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in follow mails: GET says what it will stop and shows one button (mail
    scanners open links, so GET changes nothing); POST stops it. With a follow in the
    token, that follow is deleted; without, no more follow mails at all. A token we did not
    make, or whose person is gone, is 404."""
    payload = read_unsubscribe_token(token) if len(token) <= TOKEN_MAX_LENGTH else None
    if payload is None:
        raise Http404(_("This link does not work."))
    user_id, follow_id = payload
    user = get_object_or_404(get_user_model(), pk=user_id)
    # Read, not made: a GET writes nothing, not even a missing profile.
    follow_mail = (
        Profile.objects.filter(user=user).values_list("follow_mail", flat=True).first()
        or Profile._meta.get_field("follow_mail").default
    )
    follow = None
    if follow_id is not None:
        follow = with_targets(Follow.objects.of(user)).filter(pk=follow_id).first()
    row = named([follow])[0] if follow else None
    done = False
    if request.method == "POST":
        if follow_id is None and follow_mail != FollowMail.NEVER:
            profile = profile_for(user)
            profile.follow_mail = FollowMail.NEVER
            profile.save(update_fields=["follow_mail", "updated"])
        elif follow is not None:
            follow.delete()
        done = True
    return render(
        request,
        "accounts/unsubscribe.html",
        {
            "token": token,
            "all_mail": follow_id is None,
            "row": row,
            "gone": follow_id is not None and follow is None,
            "already_never": follow_id is None and follow_mail == FollowMail.NEVER and not done,
            "done": done,
        },
    )
