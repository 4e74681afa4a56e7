"""The working-group list and page: who is in a group, how its year is going, what it proposed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from initiatives.models import Initiative, Organisation
from networks.models import OSLO, Event, WorkingGroup, WorkingGroupMember
from tests.factories import (
    make_event,
    make_focus_area,
    make_initiative,
    make_network,
    make_organisation,
    make_user,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/en/arbeidsgrupper/"


def this_year() -> int:
    return timezone.localdate().year


# Last year's events have all ended whatever today's date is, so they always count as held.
def last_year() -> int:
    return this_year() - 1


def held(group: WorkingGroup, kind: str, month: int, year: int | None = None) -> Event:
    """An event of the group's that ended in `month` of `year` (the group's year by default)."""
    ends_at = datetime(year or group.year, month, 10, 16, tzinfo=OSLO)
    return make_event(
        organiser_working_group=group,
        kind=kind,
        starts_at=ends_at - timedelta(hours=2),
        ends_at=ends_at,
        title=f"{kind} {month}/{year or group.year}",
    )


def text(html: str) -> str:
    """The words of some HTML, as a person reads them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def section(response, heading_id: str) -> str:
    """The text of the page's <section> labelled by `heading_id`."""
    match = re.search(
        rf'<section aria-labelledby="{heading_id}">(.*?)</section>', response.text, re.S
    )
    assert match, f"no section {heading_id}"
    return text(match.group(1))


def card_texts(response) -> list[str]:
    return [
        text(card) for card in re.findall(r'<li class="wg-card">(.*?)</li>', response.text, re.S)
    ]


def page_url(group: WorkingGroup) -> str:
    return f"/en/arbeidsgrupper/{group.slug}/"


# --- The list ------------------------------------------------------------------------


def test_list_shows_each_group_with_host_leader_members_and_progress(client):
    focus = make_focus_area(name_en="Circular production")
    network = make_network(name="Pådriv")
    group = make_working_group(
        name="Sirkulær produksjon", year=last_year(), focus_area=focus, host_network=network
    )
    leader_org = make_organisation(name="Foreningen Pådriv")
    make_working_group_member(
        working_group=group,
        name="Marte Lindqvist",
        organisation=leader_org,
        role=WorkingGroupMember.Role.LEADER,
    )
    make_working_group_member(working_group=group, name="Ola Bergersen")
    for month in (2, 4, 6):
        held(group, Event.Kind.MEETING, month)

    response = client.get(LIST_URL)

    assert card_texts(response) == [
        "Sirkulær produksjon Focus area Circular production Hosted by Pådriv "
        "Leader Marte Lindqvist, Foreningen Pådriv Members 2 "
        f"Held in {last_year()} meetings 3 of 6, open events 0 of 1"
    ]
    assert f'href="{page_url(group)}"' in response.text


def test_list_counts_each_group_in_its_own_year(client):
    busy = make_working_group(name="A busy group", year=last_year())
    quiet = make_working_group(name="B quiet group", year=last_year())
    for month in range(1, 7):
        held(busy, Event.Kind.MEETING, month)
    held(busy, Event.Kind.OPEN_EVENT, 9)
    held(busy, Event.Kind.WEBINAR, 10)  # another kind: not counted
    held(quiet, Event.Kind.MEETING, 3, year=last_year() - 1)  # the year before: not counted

    response = client.get(LIST_URL)

    progress = {
        g.name: (g.meetings_held, g.open_events_held, g.requirements_met)
        for g in response.context["working_groups"]
    }
    assert progress == {"A busy group": (6, 1, True), "B quiet group": (0, 0, False)}
    assert "meetings 6 of 6, open events 1 of 1 Requirements met" in card_texts(response)[0]
    assert "meetings 0 of 6, open events 0 of 1" in card_texts(response)[1]


def test_list_puts_this_year_first_then_coming_then_earlier_years(client):
    for year, name in [
        (this_year() - 2, "Two years ago"),
        (this_year() + 1, "Next year"),
        (this_year(), "This year B"),
        (this_year() - 1, "Last year"),
        (this_year(), "This year A"),
    ]:
        make_working_group(name=name, year=year)

    response = client.get(LIST_URL)

    assert [g.name for g in response.context["working_groups"]] == [
        "This year A",
        "This year B",
        "Next year",
        "Last year",
        "Two years ago",
    ]
    headings = re.findall(
        r'<h2 class="ds-heading" data-size="md" id="year-\d+">(.*?)</h2>', response.text
    )
    assert headings == [
        f"This year: {this_year()}",
        str(this_year() + 1),
        str(this_year() - 1),
        str(this_year() - 2),
    ]


def test_list_filters_by_year_and_focus_area(client):
    focus = make_focus_area()
    make_working_group(name="Old, same focus", year=last_year(), focus_area=focus)
    make_working_group(name="Now, same focus", year=this_year(), focus_area=focus)
    make_working_group(name="Now, other focus", year=this_year())

    by_year = client.get(LIST_URL, {"year": str(last_year())})
    by_focus = client.get(LIST_URL, {"focus_area": focus.slug})
    both = client.get(LIST_URL, {"year": str(this_year()), "focus_area": focus.slug})

    assert [g.name for g in by_year.context["working_groups"]] == ["Old, same focus"]
    assert [g.name for g in by_focus.context["working_groups"]] == [
        "Now, same focus",
        "Old, same focus",
    ]
    assert [g.name for g in both.context["working_groups"]] == ["Now, same focus"]
    assert f'<option value="{focus.slug}" selected>' in by_focus.text


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"year": "abc"}, "The filter “Year” was not understood and was ignored"),
        ({"year": "2026.5"}, "The filter “Year” was not understood and was ignored"),
        ({"year": "99999999999999999999"}, "The filter “Year” was not understood"),
        ({"year": "-1"}, "The filter “Year” was not understood and was ignored"),
        ({"focus_area": "no-such-area"}, "The filter “Focus area” was not understood"),
        ({"focus_area": "x" * 500}, "A value for “Focus area” was too long"),
        ({"focus_area": "<script>alert(1)</script>"}, "The filter “Focus area” was not understood"),
    ],
)
def test_list_ignores_malformed_filters_with_a_message(client, params, problem):
    make_working_group(name="Still listed", year=last_year())

    response = client.get(LIST_URL, params)

    assert response.status_code == 200
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(notices) == 1
    assert notices[0].startswith(problem)
    assert [g.name for g in response.context["working_groups"]] == ["Still listed"]
    assert "<script>alert(1)</script>" not in response.text


@pytest.mark.parametrize("page", ["abc", "0", "99", "1" * 30])
def test_list_answers_a_page_that_does_not_exist_with_404(client, page):
    make_working_group()

    response = client.get(LIST_URL, {"page": page})

    assert response.status_code == 404


def test_list_says_when_there_are_no_groups(client):
    response = client.get(LIST_URL)

    assert response.context["paginator"].count == 0
    assert "No working groups have been recorded yet." in response.text


def full_group(year: int) -> WorkingGroup:
    """A group with something in every column the list shows."""
    group = make_working_group(year=year, focus_area=make_focus_area())
    make_working_group_member(
        working_group=group, organisation=make_organisation(), role=WorkingGroupMember.Role.LEADER
    )
    make_working_group_member(working_group=group, organisation=make_organisation())
    held(group, Event.Kind.MEETING, 3)
    held(group, Event.Kind.OPEN_EVENT, 5)
    return group


@pytest.mark.parametrize("items", [1, 20])
@pytest.mark.parametrize(
    ("params", "queries"),
    [
        # Years and focus areas for the choices, the count, the page, the leaders.
        ({}, 5),
        # The chosen focus area is looked up to check it.
        ({"focus_area": "FOCUS"}, 6),
    ],
)
def test_list_query_count(client, django_assert_num_queries, items, params, queries):
    groups = [full_group(last_year()) for _ in range(items)]
    focus = groups[0].focus_area
    for group in groups:
        group.focus_area = focus
        group.save(update_fields=["focus_area"])
    params = {k: focus.slug if v == "FOCUS" else v for k, v in params.items()}

    with django_assert_num_queries(queries):
        response = client.get(LIST_URL, params)

    assert len(response.context["working_groups"]) == items
    assert len(card_texts(response)) == items
    assert all("meetings 1 of 6, open events 1 of 1" in card for card in card_texts(response))


# --- The page ------------------------------------------------------------------------


def test_page_shows_facts_members_and_mandate(client):
    focus = make_focus_area(name_en="Circular production")
    network = make_network(name="Pådriv")
    group = make_working_group(
        name="Sirkulær produksjon",
        year=2026,
        focus_area=focus,
        host_network=network,
        mandate="Meet six times.\n\nPropose new initiatives.",
    )
    approved = make_organisation(name="Foreningen Pådriv")
    proposed = make_organisation(name="Ny forening", status=Organisation.Status.PROPOSED)
    make_working_group_member(
        working_group=group,
        name="Marte Lindqvist",
        organisation=approved,
        role=WorkingGroupMember.Role.LEADER,
    )
    make_working_group_member(working_group=group, name="Anne Berg", organisation=proposed)
    make_working_group_member(working_group=group, name="Tone Fjeldstad")

    response = client.get(page_url(group))

    assert response.context["leader"].name == "Marte Lindqvist"
    assert section(response, "members-heading") == (
        "Members Marte Lindqvist, Foreningen Pådriv (leader) Anne Berg, Ny forening Tone Fjeldstad"
    )
    assert f'<a class="ds-link" href="/en/organisasjoner/{approved.slug}/">' in response.text
    assert f"/organisasjoner/{proposed.slug}/" not in response.text
    assert "<p>Meet six times.</p>\n\n<p>Propose new initiatives.</p>" in response.text
    facts = text(re.search(r'<dl class="facts">(.*?)</dl>', response.text, re.S).group(1))
    assert facts.startswith(
        "Focus area Circular production Hosted by Pådriv "
        "Leader Marte Lindqvist, Foreningen Pådriv "
        "Period Jan. 1, 2026 – Dec. 31, 2026 Required each year 6 meetings, 1 open event"
    )


def test_page_links_a_host_organisation_only_when_approved(client):
    approved = make_organisation(name="Vertskommune")
    proposed = make_organisation(name="Forslag AS", status=Organisation.Status.PROPOSED)
    linked = make_working_group(host_organisation=approved)
    unlinked = make_working_group(host_organisation=proposed)

    linked_page = client.get(page_url(linked))
    unlinked_page = client.get(page_url(unlinked))

    assert f'href="/en/organisasjoner/{approved.slug}/">Vertskommune</a>' in linked_page.text
    assert "Forslag AS" in unlinked_page.text
    assert f"/organisasjoner/{proposed.slug}/" not in unlinked_page.text


def test_page_links_the_host_network(client):
    network = make_network(name="Adda", slug="adda")
    group = make_working_group(host_network=network)

    response = client.get(page_url(group))

    assert '<a class="ds-link" href="/en/nettverk/adda/" lang="nb">Adda</a>' in response.text


def test_page_counts_meetings_and_open_events_held_in_the_groups_year(client):
    group = make_working_group(year=last_year())
    for month in (1, 3, 5):
        held(group, Event.Kind.MEETING, month)
    held(group, Event.Kind.OPEN_EVENT, 6)
    held(group, Event.Kind.WORKSHOP, 7)  # another kind
    held(group, Event.Kind.MEETING, 2, year=last_year() - 1)  # the year before
    other = make_working_group(year=last_year())
    held(other, Event.Kind.MEETING, 4)  # another group's

    response = client.get(page_url(group))

    assert section(response, "progress-heading") == (
        f"How {last_year()} went "
        "Counted from the events recorded here: the meetings and open events the group "
        f"organised that ended in {last_year()}. "
        "Meetings held 3 of 6 required Open events held 1 of 1 required Met"
    )


def test_page_shows_0_of_6_for_a_group_with_no_events(client):
    group = make_working_group(year=this_year())

    response = client.get(page_url(group))

    assert section(response, "progress-heading") == (
        f"How {this_year()} is going "
        "Counted from the events recorded here: the meetings and open events the group "
        f"organised that ended in {this_year()}. "
        "Meetings held 0 of 6 required Open events held 0 of 1 required"
    )
    assert "No events held have been recorded yet." in response.text


def test_page_follows_the_groups_own_required_numbers(client):
    group = make_working_group(year=last_year(), required_meetings=2, required_open_events=0)
    held(group, Event.Kind.MEETING, 1)
    held(group, Event.Kind.MEETING, 2)

    response = client.get(page_url(group))

    assert section(response, "progress-heading").endswith(
        "Meetings held 2 of 2 required Met Open events held 0 of 0 required Met"
    )


def test_page_lists_upcoming_and_past_events(client):
    group = make_working_group(year=this_year())
    now = timezone.now()
    first = make_event(
        organiser_working_group=group, title="Earlier", starts_at=now - timedelta(days=30)
    )
    second = make_event(
        organiser_working_group=group, title="Later", starts_at=now - timedelta(days=2)
    )
    soon = make_event(
        organiser_working_group=group, title="Soon", starts_at=now + timedelta(days=2)
    )
    going_on = make_event(
        organiser_working_group=group,
        title="Going on",
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(minutes=30),
    )
    make_event(title="Someone else's", starts_at=now + timedelta(days=1))

    response = client.get(page_url(group))

    assert response.context["upcoming_events"] == [going_on, soon]
    assert response.context["past_events"] == [second, first]
    assert (
        f'<a class="ds-link" href="/en/arrangementer/{soon.slug}/" lang="nb">Soon</a>'
        in response.text
    )
    assert "Times are Norwegian time (Europe/Oslo)." in response.text
    assert "Someone else's" not in response.text


def test_page_shows_event_times_in_oslo_time(client):
    group = make_working_group(year=2026)
    # 13:00 UTC is 14:00 in Oslo in winter.
    make_event(
        organiser_working_group=group,
        starts_at=datetime(2026, 2, 10, 13, 0, tzinfo=UTC),
    )

    response = client.get(page_url(group))

    assert '<time datetime="2026-02-10T14:00:00+0100">' in response.text


def test_page_shows_only_published_proposed_initiatives(client):
    group = make_working_group()
    shown = make_initiative(title="Published idea", status=Initiative.Status.PUBLISHED)
    hidden = [
        make_initiative(title=f"Hidden {status}", status=status)
        for status in (
            Initiative.Status.DRAFT,
            Initiative.Status.SUBMITTED,
            Initiative.Status.REJECTED,
            Initiative.Status.ARCHIVED,
        )
    ]
    group.proposed_initiatives.add(shown, *hidden)

    response = client.get(page_url(group))

    assert list(response.context["initiatives"]) == [shown]
    assert section(response, "initiatives-heading") == (
        f"Initiatives the group proposed Published idea {shown.lead_organisation.name}"
    )
    assert "Hidden" not in response.text


def test_page_escapes_html_in_the_mandate_and_names(client):
    group = make_working_group(mandate="<script>alert(1)</script>\n<b>bold</b>")
    make_working_group_member(working_group=group, name="<img src=x onerror=alert(2)>")

    response = client.get(page_url(group))

    assert "<script>alert(1)</script>" not in response.text
    assert "<b>bold</b>" not in response.text
    assert "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>&lt;b&gt;bold&lt;/b&gt;" in response.text


def test_page_never_shows_members_e_mail_addresses(client):
    group = make_working_group()
    user = make_user(email="kari.secret@example.org")
    make_working_group_member(working_group=group, name="Kari Nordmann", user=user)

    response = client.get(page_url(group))

    assert "Kari Nordmann" in section(response, "members-heading")
    assert "kari.secret" not in response.text


def test_page_offers_the_groups_calendar_feed(client):
    group = make_working_group(slug="mat-2026")

    response = client.get(page_url(group))

    assert 'href="/en/arbeidsgrupper/mat-2026/kalender.ics"' in response.text


@pytest.mark.parametrize("slug", ["no-such-group", "x" * 300])
def test_page_of_an_unknown_group_is_404(client, slug):
    make_working_group()

    response = client.get(f"/en/arbeidsgrupper/{slug}/")

    assert response.status_code == 404


def test_working_group_url_is_its_page():
    group = make_working_group(slug="sirkulaer-produksjon-2026")

    assert group.get_absolute_url() == "/en/arbeidsgrupper/sirkulaer-produksjon-2026/"


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count(client, django_assert_num_queries, items):
    group = make_working_group(year=last_year(), focus_area=make_focus_area())
    now = timezone.now()
    for n in range(items):
        make_working_group_member(
            working_group=group,
            organisation=make_organisation(),
            role=WorkingGroupMember.Role.LEADER if n == 0 else WorkingGroupMember.Role.MEMBER,
        )
        held(group, Event.Kind.MEETING, 1 + n % 12)
        make_event(organiser_working_group=group, starts_at=now + timedelta(days=n + 1))
        group.proposed_initiatives.add(make_initiative(status=Initiative.Status.PUBLISHED))

    # The group with its progress, members, events, initiatives.
    with django_assert_num_queries(4):
        response = client.get(page_url(group))

    assert len(response.context["members"]) == items
    assert len(response.context["past_events"]) == items
    assert len(response.context["upcoming_events"]) == items
    assert len(response.context["initiatives"]) == items
    assert response.context["group"].meetings_held == items
