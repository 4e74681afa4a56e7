"""The network list and a network's page: what they show, filters, bad input, query counts."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from ideabank.models import profile_for
from initiatives import engine
from initiatives.models import County, FocusArea, Initiative, Organisation
from networks.models import OSLO, Membership, Network
from tests.factories import (
    goal,
    make_event,
    make_initiative,
    make_membership,
    make_moderator,
    make_network,
    make_org_member,
    make_organisation,
    make_presentation,
    make_user,
    make_working_group,
)

pytestmark = pytest.mark.django_db

Status = Membership.Status
with translation.override("en"):
    LIST = reverse("networks:network_list")


def page_url(network: Network) -> str:
    return reverse("networks:network", args=[network.slug])


def notices(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def names(response) -> list[str]:
    return [network.name for network in response.context["networks"]]


def full_network(**overrides) -> Network:
    """A network with something in every list its row and page show."""
    network = make_network(
        coordinator=make_organisation(), county=County.objects.get(number="03"), **overrides
    )
    network.focus_areas.set(FocusArea.objects.filter(slug="circular-economy"))
    network.goals.set([goal(12)])
    make_membership(network=network, organisation=network.coordinator)
    make_membership(network=network)
    return network


# --- The list ---------------------------------------------------------------------------


def test_list_shows_each_network_with_its_counts(client):
    coordinator = make_organisation(name="KS")
    network = make_network(
        name="Bærekraftsnettverket",
        coordinator=coordinator,
        county=County.objects.get(number="03"),
        scope="regional",
    )
    make_membership(network=network, organisation=coordinator)
    make_membership(network=network)
    # Only active members of approved organisations count.
    make_membership(network=network, status=Status.REQUESTED)
    make_membership(network=network, status=Status.ENDED)
    make_membership(
        network=network, organisation=make_organisation(status=Organisation.Status.PROPOSED)
    )
    make_network(parent=network, name="Undergruppe A")
    make_network(parent=network, name="Undergruppe B")

    response = client.get(LIST)

    shown = response.context["networks"][0]
    assert (shown.name, shown.member_count, shown.subgroup_count) == (
        "Bærekraftsnettverket",
        2,
        2,
    )
    assert f'href="{reverse("initiatives:organisation", args=[coordinator.slug])}"' in response.text
    assert "Oslo" in response.text
    assert "Regional" in response.text


def test_list_puts_sub_groups_right_after_their_network_and_marks_them(client):
    adda = make_network(name="Adda")
    make_network(name="Bergen")
    make_network(name="Ytterst", parent=adda)
    make_network(name="Innerst", parent=adda)

    response = client.get(LIST)

    assert names(response) == ["Adda", "Innerst", "Ytterst", "Bergen"]
    assert response.text.count("network-card--subgroup") == 2
    assert response.text.count(">Sub-group</span> of Adda") == 2


def test_list_sub_group_without_coordinator_shows_the_parents(client):
    parent = make_network(name="Adda", coordinator=make_organisation(name="Adda AB"))
    make_network(name="Transport", parent=parent)

    response = client.get(LIST)

    subgroup = response.context["networks"][1]
    assert subgroup.coordinating_organisation.name == "Adda AB"
    assert response.text.count("Adda AB") == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"scope": "nordic"}, ["Nordisk"]),
        ({"focus_area": "circular-economy"}, ["Sirkulært"]),
        ({"goal": "12"}, ["Sirkulært"]),
        ({"county": "03"}, ["Oslo-nettverket"]),
        ({"scope": "regional", "county": "03"}, ["Oslo-nettverket"]),
        ({"scope": "national", "county": "03"}, []),
    ],
)
def test_list_filters_narrow(client, query, expected):
    make_network(name="Nordisk", scope="nordic")
    circular = make_network(name="Sirkulært", scope="national")
    circular.focus_areas.set(FocusArea.objects.filter(slug="circular-economy"))
    circular.goals.set([goal(12)])
    make_network(name="Oslo-nettverket", scope="regional", county=County.objects.get(number="03"))

    response = client.get(LIST, query)

    assert names(response) == expected
    assert notices(response) == []


def test_list_filters_include_matching_sub_groups(client):
    parent = make_network(name="Adda", scope="national")
    make_network(name="Nordisk undergruppe", scope="nordic", parent=parent)

    response = client.get(LIST, {"scope": "nordic"})

    assert names(response) == ["Nordisk undergruppe"]
    assert "of Adda" in response.text


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ({"scope": "galactic"}, "The filter “Scope” was not understood and was ignored"),
        ({"focus_area": "no-such-area"}, "The filter “Focus area” was not understood"),
        ({"goal": "99"}, "The filter “Sustainable Development Goal” was not understood"),
        ({"goal": "abc"}, "The filter “Sustainable Development Goal” was not understood"),
        ({"goal": "1.5"}, "The filter “Sustainable Development Goal” was not understood"),
        ({"county": "xx"}, "The filter “County” was not understood"),
        ({"focus_area": "a" * 201}, "A value for “Focus area” was too long or contained invalid"),
    ],
)
def test_list_bad_filter_values_are_dropped_with_a_message(client, query, notice):
    make_network(name="Nordisk", scope="nordic")
    make_network(name="Lokalt", scope="local")

    response = client.get(LIST, query)

    assert response.status_code == 200
    assert names(response) == ["Lokalt", "Nordisk"]
    assert len(notices(response)) == 1
    assert notices(response)[0].startswith(notice)


def test_list_bad_value_drops_only_that_filter(client):
    make_network(name="Nordisk", scope="nordic")
    make_network(name="Lokalt", scope="local")

    response = client.get(LIST, {"scope": "nordic", "goal": "abc"})

    assert names(response) == ["Nordisk"]
    assert response.context["filterset"].form.data.get("scope") == "nordic"
    assert 'value="nordic" selected' in response.text


def test_list_ignores_unknown_parameters(client):
    make_network(name="Nordisk")

    response = client.get(LIST, {"colour": "blue", "utm_source": "x"})

    assert names(response) == ["Nordisk"]
    assert notices(response) == []


def test_list_paginates_after_thirty(client):
    for number in range(31):
        make_network(name=f"Nettverk {number:02}")

    first = client.get(LIST)
    second = client.get(LIST, {"page": "2"})

    assert len(first.context["networks"]) == 30
    assert names(second) == ["Nettverk 30"]
    assert "page=2" in first.text


@pytest.mark.parametrize("page", ["3", "abc", "0", "-1", "9" * 20])
def test_list_bad_page_is_404(client, page):
    make_network()

    response = client.get(LIST, {"page": page})

    assert response.status_code == 404


def test_list_html_in_a_name_is_escaped(client):
    make_network(name="<script>alert(1)</script>")

    response = client.get(LIST)

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_list_in_english(client):
    make_network(name="Nordisk", scope="nordic")

    response = client.get("/en/nettverk/", {"scope": "nordic"})

    assert names(response) == ["Nordisk"]
    assert '<html lang="en"' in response.text


@pytest.mark.parametrize("items", [1, 20])
def test_list_query_count(client, django_assert_num_queries, items):
    first = full_network()
    for number in range(1, items):
        # Every other one a sub-group, whose coordinator is its parent's.
        full_network(parent=first if number % 2 else None)

    # The count, the page of networks with their counts, coordinators and parents, and
    # the filter form's focus areas, goals and counties.
    with django_assert_num_queries(5):
        response = client.get(LIST)

    assert len(response.context["networks"]) == items


@pytest.mark.parametrize("members", [1, 20])
def test_list_query_count_does_not_grow_with_members(client, django_assert_num_queries, members):
    network = full_network()
    make_network(parent=network)
    for _ in range(members):
        make_membership(network=network)

    # One more than without a filter: the goal's lookup that checks the value.
    with django_assert_num_queries(6):
        response = client.get(LIST, {"goal": "12"})

    assert response.context["networks"][0].member_count == members + 2


# --- A network's page -----------------------------------------------------------------


def test_page_shows_the_network(client):
    coordinator = make_organisation(name="KS")
    network = make_network(
        name="Bærekraftsnettverket",
        description="Vi lærer av hverandre.\n\nMånedlige webinarer.",
        membership_criteria="Åpent for kommuner.",
        meeting_rhythm="Månedlig",
        coordinator=coordinator,
        contact_name="Kari Nordmann",
        contact_role="Sekretariatet",
        contact_email="sekretariat@example.org",
        website="https://example.org/nettverk",
    )
    network.focus_areas.set(FocusArea.objects.filter(slug="circular-economy"))
    network.goals.set([goal(17), goal(11)])

    response = client.get(page_url(network))

    assert response.context["network"] == network
    assert "<p>Vi lærer av hverandre.</p>" in response.text
    assert "Åpent for kommuner." in response.text
    assert "Månedlig" in response.text
    assert f'href="{coordinator.get_absolute_url()}"' in response.text
    assert "Kari Nordmann, Sekretariatet" in response.text
    # The contact person's address is for signed-in users only.
    assert "sekretariat@example.org" not in response.text
    assert "?focus_area=circular-economy" in response.text
    assert [g.number for g in response.context["network"].goals.all()] == [11, 17]


def test_page_shows_the_contact_address_to_confirmed_accounts_only(client):
    network = make_network(contact_name="Kari Nordmann", contact_email="sekretariat@example.org")
    user = make_user()
    client.force_login(user)

    unconfirmed = client.get(page_url(network))
    profile_for(user).confirm_email()
    confirmed = client.get(page_url(network))

    assert "sekretariat@example.org" not in unconfirmed.text
    assert 'href="mailto:sekretariat@example.org"' in confirmed.text


def test_page_lists_only_active_members_of_approved_organisations(client):
    network = make_network()
    active = make_membership(network=network, organisation=make_organisation(name="Aktiv"))
    make_membership(
        network=network, organisation=make_organisation(name="Venter"), status=Status.REQUESTED
    )
    make_membership(
        network=network, organisation=make_organisation(name="Sluttet"), status=Status.ENDED
    )
    make_membership(
        network=network,
        organisation=make_organisation(name="Foreslått", status=Organisation.Status.PROPOSED),
    )

    response = client.get(page_url(network))

    assert response.context["members"] == [active]
    for hidden in ("Venter", "Sluttet", "Foreslått"):
        assert hidden not in response.text


def test_page_shows_sub_groups_with_their_members_and_rhythm(client):
    network = make_network()
    subgroup = make_network(parent=network, name="Transport", meeting_rhythm="En gang i måneden")
    make_membership(network=subgroup, organisation=make_organisation(name="Region Skåne"))
    make_membership(
        network=subgroup, organisation=make_organisation(name="Venter"), status=Status.REQUESTED
    )

    response = client.get(page_url(network))

    shown = list(response.context["subgroups"])
    assert [s.name for s in shown] == ["Transport"]
    assert [m.organisation.name for m in shown[0].public_memberships] == ["Region Skåne"]
    assert "En gang i måneden" in response.text
    assert "Venter" not in response.text
    assert f'href="{page_url(subgroup)}#join"' in response.text


def test_sub_group_page_links_its_parent_and_its_coordinator(client):
    coordinator = make_organisation(name="Adda AB")
    parent = make_network(name="Adda", coordinator=coordinator)
    subgroup = make_network(name="Transport", parent=parent)

    response = client.get(page_url(subgroup))

    assert "Sub-group of Adda" in response.text
    assert f'href="{page_url(parent)}"' in response.text
    assert response.context["coordinating"] == coordinator


def test_page_shows_only_published_initiatives_of_active_members(client):
    network = make_network()
    member = make_membership(network=network).organisation
    former = make_membership(network=network, status=Status.ENDED).organisation
    published = make_initiative(
        lead_organisation=member, status=Initiative.Status.PUBLISHED, title="Publisert"
    )
    make_initiative(lead_organisation=member, title="Utkast")
    make_initiative(lead_organisation=member, status=Initiative.Status.SUBMITTED, title="Innsendt")
    make_initiative(lead_organisation=former, status=Initiative.Status.PUBLISHED, title="Tidligere")
    make_initiative(status=Initiative.Status.PUBLISHED, title="Noen andres")

    response = client.get(page_url(network))

    assert list(response.context["member_initiatives"]) == [published]
    assert response.context["member_initiative_count"] == 1
    for hidden in ("Utkast", "Innsendt", "Tidligere", "Noen andres"):
        assert hidden not in response.text


def test_page_caps_member_initiatives_at_the_newest_ten(client):
    network = make_network()
    member = make_membership(network=network).organisation
    initiatives = [
        make_initiative(lead_organisation=member, status=Initiative.Status.PUBLISHED)
        for _ in range(12)
    ]

    response = client.get(page_url(network))

    assert list(response.context["member_initiatives"]) == initiatives[::-1][:10]
    assert "Showing the newest 10 of 12 initiatives the members lead." in response.text


def test_page_shows_only_published_initiatives_presented_at_its_events(client):
    network = make_network()
    event = make_event(organiser_network=network, title="Bærekraftsfredag")
    shown = make_presentation(event=event).initiative
    make_presentation(event=event, initiative=make_initiative(title="Utkast på programmet"))
    make_presentation(event=make_event(), initiative=make_initiative(title="Et annet sted"))

    response = client.get(page_url(network))

    assert [p.initiative for p in response.context["presentations"]] == [shown]
    assert response.context["presentation_count"] == 1
    assert shown.title in response.text
    assert "Utkast på programmet" not in response.text
    assert "Et annet sted" not in response.text


def test_page_splits_upcoming_and_past_events_in_oslo_time(client):
    network = make_network()
    soon = make_event(
        organiser_network=network, title="Snart", starts_at=timezone.now() + timedelta(days=2)
    )
    later = make_event(
        organiser_network=network, title="Senere", starts_at=timezone.now() + timedelta(days=9)
    )
    past = make_event(
        organiser_network=network, title="Før", starts_at=timezone.now() - timedelta(days=30)
    )
    make_event(title="Noen andres")

    response = client.get(page_url(network))

    assert list(response.context["upcoming_events"]) == [soon, later]
    assert list(response.context["past_events"]) == [past]
    assert "Noen andres" not in response.text
    assert "(Norwegian time)" in response.text
    oslo = timezone.localtime(soon.starts_at, OSLO)
    assert f'datetime="{oslo:%Y-%m-%dT%H:%M:%S%z}"' in response.text
    assert oslo.strftime("%H:%M") in response.text


def test_page_links_its_events_and_calendar(client):
    network = make_network()
    event = make_event(organiser_network=network, title="Bærekraftsfredag")

    response = client.get(page_url(network))

    event_url = reverse("networks:event", args=[event.slug])
    calendar_url = reverse("networks:network_calendar", args=[network.slug])
    assert f'href="{event_url}" lang="nb">Bærekraftsfredag</a>' in response.text
    assert f'href="{calendar_url}">Subscribe to the network' in response.text


def test_page_escapes_html_in_what_organisers_write(client):
    network = make_network(
        name="<b>Nettverk</b>",
        description="<script>alert('description')</script>",
        membership_criteria="<img src=x onerror=alert(1)>",
        meeting_rhythm="<i>ofte</i>",
        contact_name="<em>Kari</em>",
    )

    response = client.get(page_url(network))

    assert "<script>alert('description')</script>" not in response.text
    assert "&lt;script&gt;alert(&#x27;description&#x27;)&lt;/script&gt;" in response.text
    assert "<img src=x" not in response.text
    assert "<b>Nettverk</b>" not in response.text
    assert "<i>ofte</i>" not in response.text
    assert "<em>Kari</em>" not in response.text


def test_page_unknown_network_is_404(client):
    response = client.get(reverse("networks:network", args=["finnes-ikke"]))

    assert response.status_code == 404


def test_page_anonymous_is_asked_to_log_in_to_join(client):
    network = make_network()

    response = client.get(page_url(network))

    assert f"{reverse('accounts:login')}?next={page_url(network)}" in response.text
    assert "join_form" not in response.context
    assert "join_requests" not in response.context


def populate(network: Network, items: int) -> None:
    """`items` of everything the page lists."""
    for _ in range(items):
        organisation = make_membership(network=network).organisation
        make_initiative(lead_organisation=organisation, status=Initiative.Status.PUBLISHED)
        subgroup = make_network(parent=network)
        make_membership(network=subgroup)
        make_membership(network=subgroup)
        make_event(organiser_network=network)
        past = make_event(organiser_network=network, starts_at=timezone.now() - timedelta(days=3))
        make_presentation(event=past)
        make_membership(network=network, status=Status.REQUESTED)
        for host in (network, subgroup):
            group = make_working_group(host_network=host, year=timezone.localdate().year)
            make_event(organiser_working_group=group, kind="meeting")


# The facet engine's change log; the network with its counts, its focus areas and goals;
# members; sub-groups and their members; the members' ids and their initiatives (counted
# by the engine); presentations and their count; upcoming events and their count; past
# events and their count; working groups with their progress, their next events, and
# their count; the members' initiatives and adoptions per year (networks.statistics; the
# county's coverage is one more, for a regional network only); its campaigns with their
# progress; the questions and comments (ideabank.comments.thread_context).
PAGE_QUERIES = 22


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count_anonymous(client, django_assert_num_queries, items):
    network = full_network()
    populate(network, items)

    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(page_url(network))

    assert len(response.context["members"]) == items + 2
    assert len(list(response.context["subgroups"])) == items


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count_coordinator(client, django_assert_num_queries, items):
    network = full_network()
    populate(network, items)
    coordinator = make_org_member(organisation=network.coordinator).user
    # Also a member of an organisation that may still ask.
    make_org_member(user=coordinator)
    profile_for(coordinator)  # as every account made at sign-up has
    client.force_login(coordinator)

    # Plus the session and user; their organisations and those organisations' memberships
    # here; the moderator check (permissions of user and groups) and the coordinator
    # check; the requests to join; the form's choices, read twice by Django's Select
    # (once to see whether the first option is empty); whether they follow the network;
    # their profile (whether their address is confirmed, so they may comment).
    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(PAGE_QUERIES + 12):
        response = client.get(page_url(network))

    assert len(response.context["join_requests"]) == items
    assert response.text.count(">Approve<") == items


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count_moderator(client, django_assert_num_queries, items):
    network = full_network()
    populate(network, items)
    moderator = make_moderator()
    profile_for(moderator)  # as every account made at sign-up has
    client.force_login(moderator)

    # Session, user, their (no) organisations, permissions of user and groups, requests,
    # whether they follow the network, their profile (may they comment).
    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(PAGE_QUERIES + 8):
        response = client.get(page_url(network))

    assert len(response.context["join_requests"]) == items


def test_page_in_english(client):
    network = make_network(name="Nordisk")

    response = client.get(f"/en/nettverk/{network.slug}/")

    assert response.context["network"] == network
    assert '<html lang="en"' in response.text
    assert "Member organisations" in response.text


def test_page_hides_requests_from_a_plain_signed_in_user(client):
    network = make_network(coordinator=make_organisation())
    make_membership(
        network=network, organisation=make_organisation(name="Venter"), status=Status.REQUESTED
    )
    client.force_login(make_user())

    response = client.get(page_url(network))

    assert "join_requests" not in response.context
    assert "Venter" not in response.text
