"""Following things (issue 15): the buttons, the profile's choice and list, unsubscribing."""

from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.core.signing import dumps
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ideabank.follows import MAX_FOLLOWS, SEARCH_MAX_LENGTH, search_state, unsubscribe_url
from ideabank.models import (
    UNSUBSCRIBE_SALT,
    Follow,
    FollowMail,
    Profile,
    profile_for,
    unsubscribe_token,
)
from initiatives.models import Initiative, Organisation
from tests.factories import (
    goal,
    make_confirmed_user,
    make_follow,
    make_initiative,
    make_network,
    make_org_member,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

PUBLISHED = Initiative.Status.PUBLISHED


@pytest.fixture
def follower(client):
    user = make_confirmed_user(username="follower")
    client.force_login(user)
    return user


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def follow_urls():
    initiative = make_initiative(status=PUBLISHED, slug="sykkelbyen")
    organisation = make_organisation(slug="asker")
    network = make_network(slug="klimanettverket")
    return {
        "initiative": (reverse("accounts:follow_initiative", args=["sykkelbyen"]), initiative),
        "organisation": (reverse("accounts:follow_organisation", args=["asker"]), organisation),
        "network": (reverse("accounts:follow_network", args=["klimanettverket"]), network),
        "goal": (reverse("accounts:follow_goal", args=[12]), goal(12)),
    }


# --- Following ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["initiative", "organisation", "network", "goal"])
def test_follow_each_kind_saves_it_and_goes_back(client, follower, kind):
    url, target = follow_urls()[kind]

    response = client.post(url, {"next": "/tiltak/?page=2"})

    assert response.status_code == 302
    assert response.url == "/tiltak/?page=2"
    follow = Follow.objects.get(user=follower)
    assert follow.kind == kind
    assert getattr(follow, kind) == target
    assert texts(response)[0].startswith("You follow ")


def test_follow_without_next_goes_to_the_thing(client, follower):
    url, initiative = follow_urls()["initiative"]

    response = client.post(url)

    assert response.url == initiative.get_absolute_url()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "x" * 3000])
def test_follow_never_goes_back_elsewhere(client, follower, next_url):
    url, initiative = follow_urls()["initiative"]

    response = client.post(url, {"next": next_url})

    assert response.url == initiative.get_absolute_url()
    assert Follow.objects.filter(user=follower).count() == 1


def test_follow_with_nul_in_next_is_a_bad_request(client, follower):
    url, _initiative = follow_urls()["initiative"]

    response = client.post(url, {"next": "/x\x00y"})

    assert response.status_code == 400
    assert not Follow.objects.exists()


def test_follow_twice_is_one_follow(client, follower):
    url, _initiative = follow_urls()["initiative"]

    client.post(url)
    response = client.post(url)

    assert Follow.objects.filter(user=follower).count() == 1
    assert texts(response)[-1].startswith("You already follow ")


def test_follow_anonymous_goes_to_log_in(client):
    url, _initiative = follow_urls()["initiative"]

    response = client.post(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert not Follow.objects.exists()


def test_follow_unconfirmed_is_asked_to_confirm(client):
    url, _initiative = follow_urls()["initiative"]
    client.force_login(make_user())

    response = client.post(url)

    assert response.status_code == 403
    assert "accounts/email_unconfirmed.html" in [t.name for t in response.templates]
    assert not Follow.objects.exists()


def test_follow_get_is_not_allowed(client, follower):
    url, _initiative = follow_urls()["initiative"]

    response = client.get(url)

    assert response.status_code == 405
    assert not Follow.objects.exists()


@pytest.mark.parametrize(
    "status", [Initiative.Status.DRAFT, Initiative.Status.SUBMITTED, Initiative.Status.ARCHIVED]
)
def test_follow_unpublished_initiative_is_404(client, follower, status):
    make_initiative(status=status, slug="hemmelig")

    response = client.post(reverse("accounts:follow_initiative", args=["hemmelig"]))

    assert response.status_code == 404
    assert not Follow.objects.exists()


def test_follow_proposed_organisation_is_404(client, follower):
    make_organisation(slug="foreslatt", status=Organisation.Status.PROPOSED)

    response = client.post(reverse("accounts:follow_organisation", args=["foreslatt"]))

    assert response.status_code == 404
    assert not Follow.objects.exists()


@pytest.mark.parametrize("path", ["/konto/folg/barekraftsmal/18/", "/konto/folg/barekraftsmal/0/", "/konto/folg/barekraftsmal/99999999999999999999/", "/konto/folg/nettverk/finnes-ikke/"])  # fmt: skip
def test_follow_unknown_thing_is_404(client, follower, path):
    response = client.post(path)

    assert response.status_code == 404
    assert not Follow.objects.exists()


def test_follow_cap(client, follower):
    for number in range(1, 18):
        Follow.objects.create(user=follower, kind=Follow.Kind.GOAL, goal=goal(number))
    Follow.objects.bulk_create(
        Follow(user=follower, kind=Follow.Kind.SEARCH, search=f"q=ord{n}")
        for n in range(MAX_FOLLOWS - 17)
    )
    url, _initiative = follow_urls()["initiative"]

    response = client.post(url)

    assert Follow.objects.filter(user=follower).count() == MAX_FOLLOWS
    assert not Follow.objects.filter(kind=Follow.Kind.INITIATIVE).exists()
    assert texts(response) == [
        f"You follow {MAX_FOLLOWS} things already, which is as many as you can. Stop "
        "following something on your profile first."
    ]


# --- Saved searches -------------------------------------------------------------------------


def follow_search(client, query: str, **extra):
    return client.post(f"{reverse('accounts:follow_search')}?{query}", extra)


def test_follow_search_saves_the_list_state_without_sort_or_page(client, follower):
    response = follow_search(client, "sort=title&page=3&q=sykkel&goal=11&goal=3&page=2")

    follow = Follow.objects.get(user=follower)
    assert follow.kind == Follow.Kind.SEARCH
    assert follow.search == "q=sykkel&goal=11&goal=3"
    assert response.url == reverse("initiatives:list") + "?q=sykkel&goal=11&goal=3"
    assert texts(response) == [
        "You follow the search “Search: sykkel; Sustainable Development Goal: 11. "
        "Sustainable cities and communities; Sustainable Development Goal: 3. Good health "
        "and well-being”. What is new comes by e-mail as you chose on your profile."
    ]


def test_follow_search_in_another_order_is_the_same_follow(client, follower):
    follow_search(client, "goal=3&q=sykkel&goal=11")
    follow_search(client, "goal=11&goal=3&q=sykkel")

    assert Follow.objects.filter(user=follower).count() == 1


def test_follow_empty_search_means_every_new_initiative(client, follower):
    response = follow_search(client, "sort=newest")

    assert Follow.objects.get(user=follower).search == ""
    assert "all new initiatives (no filter or search text chosen)" in texts(response)[0]


def test_follow_search_keeps_only_what_the_list_understood(client, follower):
    # A goal that does not exist makes the list drop the whole goal choice, as it does.
    response = follow_search(client, "goal=99&goal=4&phase=nonsense&colour=red&q=%3Cscript%3Ealert(1)%3C/script%3E")  # fmt: skip

    follow = Follow.objects.get(user=follower)
    assert follow.search == "q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
    assert len([t for t in texts(response) if "was not understood and was ignored" in t]) == 2


def test_follow_search_with_nul_is_a_bad_request(client, follower):
    response = follow_search(client, "q=ok%00no&goal=5")

    assert response.status_code == 400
    assert not Follow.objects.exists()


def test_follow_search_with_overlong_value_ignores_it(client, follower):
    response = follow_search(client, f"q={'x' * 201}&goal=5")

    assert Follow.objects.get(user=follower).search == "goal=5"
    assert any("too long or contained invalid characters" in t for t in texts(response))


def test_follow_search_too_long_is_refused_clearly(client, follower):
    # The list takes 20 values of a filter: 20 long tags make a search over the limit.
    initiative = make_initiative(status=PUBLISHED)
    slugs = [f"emneord-{n:02d}-{'x' * 85}" for n in range(20)]
    initiative.tags.add(*slugs)

    response = follow_search(client, urlencode([("tag", slug) for slug in slugs]))

    assert not Follow.objects.exists()
    assert texts(response)[-1] == (
        f"This search is too long to follow (more than {SEARCH_MAX_LENGTH} characters). "
        "Choose fewer filters or a shorter search text."
    )


def test_follow_search_html_is_shown_escaped_on_the_list(client, follower):
    Follow.objects.create(user=follower, kind=Follow.Kind.SEARCH, search="q=%3Cb%3Efet%3C%2Fb%3E")

    response = client.get(reverse("accounts:follows"))

    assert "Search: &lt;b&gt;fet&lt;/b&gt;" in response.content.decode()
    assert "<b>fet</b>" not in response.content.decode()


def test_follow_search_button_describes_the_search_in_words(client, follower):
    content = client.get("/en/tiltak/?goal=12&sort=title").content.decode()

    button = content.split('class="follow"')[1].split("</div>")[0]
    assert "New initiatives that match: Sustainable Development Goal: 12." in button
    assert 'action="/en/konto/folg/sok/?goal=12"' in button


def test_follow_search_button_on_the_whole_list_says_what_it_means(client, follower):
    content = client.get("/en/tiltak/").content.decode()

    button = content.split('class="follow"')[1].split("</div>")[0]
    assert "following this list means every new initiative" in button
    assert 'action="/en/konto/folg/sok/"' in button


# --- Stopping -------------------------------------------------------------------------------


def test_follow_stop_deletes_it(client, follower):
    follow = make_follow(user=follower)

    response = client.post(reverse("accounts:follow_stop", args=[follow.pk]), {"next": "/"})

    assert response.url == "/"
    assert not Follow.objects.exists()
    assert texts(response) == [f"You no longer follow {follow.initiative.title}."]


def test_follow_stop_twice_or_someone_elses_changes_nothing(client, follower):
    other = make_follow()

    response = client.post(reverse("accounts:follow_stop", args=[other.pk]))

    assert response.status_code == 302
    assert Follow.objects.get() == other
    assert texts(response) == ["You do not follow that any more."]


def test_follow_stop_get_is_not_allowed(client, follower):
    follow = make_follow(user=follower)

    response = client.get(reverse("accounts:follow_stop", args=[follow.pk]))

    assert response.status_code == 405
    assert Follow.objects.get() == follow


def test_follow_stop_needs_no_confirmed_address(client):
    user = make_user()
    follow = make_follow(user=user)
    client.force_login(user)

    client.post(reverse("accounts:follow_stop", args=[follow.pk]))

    assert not Follow.objects.exists()


def test_follow_stop_anonymous_goes_to_log_in(client):
    follow = make_follow()

    response = client.post(reverse("accounts:follow_stop", args=[follow.pk]))

    assert response.url.startswith(reverse("accounts:login"))
    assert Follow.objects.get() == follow


# --- The buttons on the pages ---------------------------------------------------------------


def pages():
    make_initiative(status=PUBLISHED, slug="sykkelbyen")
    make_organisation(slug="asker")
    make_network(slug="klimanettverket")
    return {
        "initiative": "/tiltak/sykkelbyen/",
        "organisation": "/organisasjoner/asker/",
        "network": "/nettverk/klimanettverket/",
        "goal": "/barekraftsmal/12/",
        "search": "/tiltak/?goal=12",
    }


@pytest.mark.parametrize("kind", ["initiative", "organisation", "network", "goal", "search"])
def test_follow_button_shows_follow_then_stop(client, follower, kind):
    page = pages()[kind]

    before = client.get("/en" + page).content.decode()
    form = before.split('class="follow"')[1].split("</div>")[0]
    action = form.split('action="')[1].split('"')[0].replace("&amp;", "&")
    client.post(action, {"next": page})
    after = client.get("/en" + page).content.decode()

    assert Follow.objects.get(user=follower).kind == kind
    assert ">Follow" in form
    stop = after.split('class="follow"')[1].split("</div>")[0]
    assert reverse("accounts:follow_stop", args=[Follow.objects.get().pk]) in stop
    assert ">Stop following" in stop


@pytest.mark.parametrize("kind", ["initiative", "organisation", "network", "goal", "search"])
def test_follow_button_anonymous_links_to_log_in(client, kind):
    page = "/en" + pages()[kind]

    content = client.get(page).content.decode()

    assert "Log in to follow" in content
    assert f"/en/konto/logg-inn/?next={page.replace('?', '%3F').replace('=', '%3D')}" in content


def test_follow_button_absent_on_the_preview_of_a_draft(client):
    owner = make_confirmed_user()
    initiative = make_initiative()
    make_org_member(user=owner, organisation=initiative.lead_organisation)
    client.force_login(owner)

    response = client.get(reverse("initiatives:preview", args=[initiative.slug]))

    assert response.status_code == 200
    assert 'class="follow"' not in response.content.decode()


def _queries(client, page) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        client.get(page)
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("kind", ["initiative", "organisation", "network", "goal", "search"])
def test_follow_button_query_is_one(client, follower, kind):
    page = pages()[kind]
    client.get(page)

    queries = _queries(client, page)

    assert len([q for q in queries if "ideabank_follow" in q]) == 1
    client.logout()
    client.get(page)
    assert [q for q in _queries(client, page) if "ideabank_follow" in q] == []


# --- The profile ---------------------------------------------------------------------------


def test_profile_saves_the_follow_mail_choice(client, follower):
    response = client.post(
        reverse("accounts:profile"),
        {"name": "Kari Nordmann", "language": "nb", "follow_mail": FollowMail.INSTANT},
    )

    assert response.status_code == 302
    assert Profile.objects.get(user=follower).follow_mail == FollowMail.INSTANT


def test_profile_without_the_follow_mail_choice_keeps_it(client, follower):
    profile = profile_for(follower)
    profile.follow_mail = FollowMail.NEVER
    profile.save()

    client.post(reverse("accounts:profile"), {"name": "Kari Nordmann", "language": "nb"})

    assert Profile.objects.get(user=follower).follow_mail == FollowMail.NEVER


def test_profile_refuses_an_unknown_follow_mail_choice(client, follower):
    response = client.post(
        reverse("accounts:profile"),
        {"name": "Kari Nordmann", "language": "nb", "follow_mail": "hourly"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["follow_mail"]
    assert Profile.objects.get(user=follower).follow_mail == FollowMail.WEEKLY


def test_profile_shows_the_choice_and_links_to_the_list(client, follower):
    make_follow(user=follower)

    content = client.get(reverse("accounts:profile")).content.decode()

    assert 'name="follow_mail"' in content
    assert "You follow 1 thing." in content
    assert reverse("accounts:follows") in content


def _follow_everything(user, n: int) -> None:
    for i in range(n):
        make_follow(user=user, initiative=make_initiative(status=PUBLISHED))
        make_follow(user=user, kind=Follow.Kind.ORGANISATION, organisation=make_organisation())
        make_follow(user=user, kind=Follow.Kind.NETWORK, network=make_network())
        if i < 17:  # there are 17 goals
            make_follow(user=user, kind=Follow.Kind.GOAL, goal=goal(i + 1))
        make_follow(user=user, kind=Follow.Kind.SEARCH, search=f"q=ord{i}&goal={i % 17 + 1}")


def test_follow_list_names_each_follow(client, follower):
    _follow_everything(follower, 1)

    content = client.get(reverse("accounts:follows")).content.decode()

    for follow in Follow.objects.filter(user=follower).select_related("initiative"):
        assert reverse("accounts:follow_stop", args=[follow.pk]) in content
    assert Follow.objects.get(kind="initiative").initiative.title in content
    assert "Goal 1: No poverty" in content
    assert "Search: ord0; Sustainable Development Goal: 1. No poverty" in content
    assert "/en/tiltak/?q=ord0&amp;goal=1" in content


def test_follow_list_keeps_an_archived_initiative_without_its_link(client, follower):
    follow = make_follow(user=follower)
    Initiative.objects.filter(pk=follow.initiative.pk).update(status=Initiative.Status.ARCHIVED)

    content = client.get(reverse("accounts:follows")).content.decode()

    assert f"{follow.initiative.title}</span> (no longer published)" in content
    assert follow.initiative.get_absolute_url() not in content
    assert reverse("accounts:follow_stop", args=[follow.pk]) in content


@pytest.mark.parametrize("n", [1, 20])
def test_follow_list_query_count(client, follower, django_assert_num_queries, n):
    _follow_everything(follower, n)
    client.get(reverse("accounts:follows"))  # the filter labels are cached after this

    # Session, user, the follows with their targets, the profile.
    with django_assert_num_queries(4):
        response = client.get(reverse("accounts:follows"))

    assert len(response.context["rows"]) == Follow.objects.filter(user=follower).count()


# --- Unsubscribing -------------------------------------------------------------------------


def test_unsubscribe_url_is_absolute_and_signed(settings):
    settings.SITE_URL = "https://idebanken.example"
    follow = make_follow()

    url = unsubscribe_url(follow.user, follow)

    assert url.startswith("https://idebanken.example/konto/avslutt/")
    assert url.endswith(f"{unsubscribe_token(follow.user, follow)}/")


def test_unsubscribe_url_is_in_the_persons_language():
    follow = make_follow()
    profile = profile_for(follow.user)
    profile.language = "en"
    profile.save()

    assert "/en/konto/avslutt/" in unsubscribe_url(follow.user)


def test_unsubscribe_get_changes_nothing(client):
    follow = make_follow()

    response = client.get(unsubscribe_url(follow.user, follow))

    assert response.status_code == 200
    assert Follow.objects.get() == follow
    assert follow.initiative.title in response.content.decode()


def test_unsubscribe_post_without_login_or_csrf_stops_the_follow():
    follow = make_follow()
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:unsubscribe", args=[unsubscribe_token(follow.user, follow)]))  # fmt: skip

    assert response.status_code == 200
    assert not Follow.objects.exists()
    assert "You no longer follow this:" in response.content.decode()
    assert follow.initiative.title in response.content.decode()


def test_unsubscribe_one_click_body_stops_all_follow_mail():
    follow = make_follow()
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        unsubscribe_url(follow.user),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert Profile.objects.get(user=follow.user).follow_mail == FollowMail.NEVER
    assert Follow.objects.get() == follow  # still followed, only no mail


def test_unsubscribe_a_follow_already_gone_says_so():
    follow = make_follow()
    url = reverse("accounts:unsubscribe", args=[unsubscribe_token(follow.user, follow)])
    follow.delete()

    response = Client(enforce_csrf_checks=True).post(url)

    assert response.status_code == 200
    assert "You were not following this any more" in response.content.decode()


def test_unsubscribe_someone_elses_follow_in_a_token_does_nothing():
    follow = make_follow()
    stranger = make_user()
    token = dumps([stranger.pk, follow.pk], salt=UNSUBSCRIBE_SALT)

    response = Client().post(reverse("accounts:unsubscribe", args=[token]))

    assert response.status_code == 200
    assert Follow.objects.get() == follow


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        dumps([1, None], salt="another-salt"),
        dumps(["1", None], salt=UNSUBSCRIBE_SALT),
        "x" * 5000,
    ],
    # Fixed ids: a signed token holds the time; parallel workers must collect the same names.
    ids=["forged", "other-salt", "id-not-a-number", "huge"],
)
def test_unsubscribe_forged_token_is_404(client, token):
    follow = make_follow()

    get = client.get(reverse("accounts:unsubscribe", args=[token]))
    post = client.post(reverse("accounts:unsubscribe", args=[token]))

    assert (get.status_code, post.status_code) == (404, 404)
    assert Follow.objects.get() == follow


def test_unsubscribe_user_gone_is_404(client):
    follow = make_follow()
    url = unsubscribe_url(follow.user, follow)
    follow.user.delete()

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_unsubscribe_page_in_both_languages(client, prefix):
    user = make_user()
    token = unsubscribe_token(user)

    response = client.get(f"{prefix}/konto/avslutt/{token}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{"en" if prefix else "nb"}"' in content
    assert f'<form method="post" action="{prefix}/konto/avslutt/{token}/">' in content
    assert not Profile.objects.filter(user=user).exists()  # a GET writes nothing at all


def test_unsubscribe_all_when_already_never_has_no_button(client):
    user = make_user()
    profile_for(user).follow_mail = FollowMail.NEVER
    user.profile.save()

    response = client.get(reverse("accounts:unsubscribe", args=[unsubscribe_token(user)]))

    assert "You already get no e-mails about what you follow." in response.content.decode()
    assert '<form method="post" action="/en/konto/avslutt/' not in response.content.decode()


# --- Languages -----------------------------------------------------------------------------


# The Bokmål texts come with the lead's merge of the translations; here both languages
# render and keep their addresses.
@pytest.mark.parametrize("prefix", ["", "/en"])
def test_pages_in_both_languages(client, follower, prefix):
    make_initiative(status=PUBLISHED, slug="sykkelbyen")
    make_follow(user=follower, kind=Follow.Kind.SEARCH, search="q=sykkel")

    detail = client.get(f"{prefix}/tiltak/sykkelbyen/")
    follows = client.get(f"{prefix}/konto/profil/folger/")

    assert (detail.status_code, follows.status_code) == (200, 200)
    language = "en" if prefix else "nb"
    assert f'<html lang="{language}"' in detail.content.decode()
    assert f'action="{prefix}/konto/folg/tiltak/sykkelbyen/"' in detail.content.decode()
    assert f'href="{prefix}/tiltak/?q=sykkel"' in follows.content.decode()


def test_search_state_is_stable():
    assert search_state(QueryDict("tag=b&q=x&tag=a&sort=title&page=2")) == "q=x&tag=a&tag=b"
    assert search_state(QueryDict("")) == ""
