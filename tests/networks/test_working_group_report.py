"""A working group's year report: meetings and open events held against the required numbers,
members, initiatives presented and proposed (published only), printable, constant queries."""

import re
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from initiatives.models import Initiative, Organisation
from networks.models import OSLO, Event, WorkingGroup
from networks.reports import CANCELLED, HELD, PLANNED, year_report
from tests.factories import (
    make_event,
    make_initiative,
    make_organisation,
    make_presentation,
    make_user,
    make_working_group,
    make_working_group_member,
)

pytestmark = pytest.mark.django_db

# The report as it stood at this moment, for the tests of what is still planned.
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=OSLO)


def this_year() -> int:
    return timezone.localdate().year


def last_year() -> int:
    # Last year's events have all ended whatever today's date is.
    return this_year() - 1


def event_at(group: WorkingGroup, kind: str, ends_at: datetime, **overrides) -> Event:
    return make_event(
        organiser_working_group=group,
        kind=kind,
        starts_at=ends_at - timedelta(hours=2),
        ends_at=ends_at,
        **overrides,
    )


def report_url(group: WorkingGroup, language: str = "en") -> str:
    prefix = "" if language == "nb" else f"/{language}"
    return f"{prefix}/arbeidsgrupper/{group.slug}/arsrapport/"


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip())


def section(response, heading_id: str) -> str:
    match = re.search(
        rf'<section[^>]*aria-labelledby="{heading_id}">(.*?)</section>', response.text, re.S
    )
    assert match, f"no section {heading_id}"
    return text(match.group(1))


def report_for(group: WorkingGroup, now: datetime = NOW):
    return year_report(WorkingGroup.objects.with_progress(now=now).get(pk=group.pk), now)


# --- The figures ----------------------------------------------------------------------


def test_report_counts_held_meetings_and_lists_cancelled_and_planned_beside_them():
    group = make_working_group(year=2026)
    held = [
        event_at(group, Event.Kind.MEETING, datetime(2026, month, 10, 16, tzinfo=OSLO))
        for month in (1, 3, 5, 7)
    ]
    cancelled = event_at(
        group,
        Event.Kind.MEETING,
        datetime(2026, 6, 10, 16, tzinfo=OSLO),
        cancelled_at=datetime(2026, 6, 1, tzinfo=OSLO),
    )
    planned = event_at(group, Event.Kind.MEETING, datetime(2026, 11, 10, 16, tzinfo=OSLO))
    # Other years' meetings and other groups' are not in this year's report at all.
    event_at(group, Event.Kind.MEETING, datetime(2025, 12, 31, 22, tzinfo=OSLO))
    event_at(group, Event.Kind.MEETING, datetime(2027, 1, 1, 0, 30, tzinfo=OSLO))
    event_at(make_working_group(year=2026), Event.Kind.MEETING, datetime(2026, 2, 1, tzinfo=OSLO))

    report = report_for(group)

    assert report.group.meetings_held == 4
    assert [(item.event, item.state) for item in report.meetings] == [
        (held[0], HELD),
        (held[1], HELD),
        (held[2], HELD),
        (cancelled, CANCELLED),
        (held[3], HELD),
        (planned, PLANNED),
    ]
    # The list agrees with with_progress's count: the one rule, seen twice.
    assert sum(item.state == HELD for item in report.meetings) == report.group.meetings_held
    assert report.planned_meetings == 1
    assert report.year_over is False


def test_report_counts_the_year_in_oslo_time():
    group = make_working_group(year=2026)
    # 23:30 on New Year's Eve in Oslo is already 2026 there (22:30 UTC in 2025).
    new_year = event_at(group, Event.Kind.OPEN_EVENT, datetime(2026, 1, 1, 0, 30, tzinfo=OSLO))
    event_at(group, Event.Kind.OPEN_EVENT, datetime(2025, 12, 31, 23, 30, tzinfo=OSLO))

    report = report_for(group)

    assert [item.event for item in report.open_events] == [new_year]
    assert report.group.open_events_held == 1


def test_report_keeps_other_kinds_apart_and_out_of_the_counts():
    group = make_working_group(year=2026)
    webinar = event_at(group, Event.Kind.WEBINAR, datetime(2026, 3, 1, 12, tzinfo=OSLO))
    workshop = event_at(group, Event.Kind.WORKSHOP, datetime(2026, 4, 1, 12, tzinfo=OSLO))

    report = report_for(group)

    assert [item.event for item in report.other_events] == [webinar, workshop]
    assert report.meetings == []
    assert report.open_events == []
    assert (report.group.meetings_held, report.group.open_events_held) == (0, 0)


def test_report_summary_says_what_was_held_planned_and_whether_it_is_met():
    group = make_working_group(year=2026, required_meetings=2, required_open_events=1)
    event_at(group, Event.Kind.MEETING, datetime(2026, 2, 1, 12, tzinfo=OSLO))
    event_at(group, Event.Kind.MEETING, datetime(2026, 10, 1, 12, tzinfo=OSLO))
    event_at(group, Event.Kind.OPEN_EVENT, datetime(2026, 12, 1, 12, tzinfo=OSLO))
    make_working_group_member(working_group=group, organisation=make_organisation())

    report = report_for(group)

    assert report.summary == [
        "Meetings held in 2026: 1 of 2 required.",
        "Open events held: 0 of 1 required.",
        "Still planned before the year ends: meetings 1, open events 1.",
        "Members: 1, from 1 organisation.",
        "Published initiatives presented at the group's events: 0.",
        "Published initiatives the group proposed: 0.",
        "The year's requirements are not met yet.",
    ]


def test_report_summary_of_a_year_that_is_over():
    group = make_working_group(year=2025, required_meetings=1, required_open_events=0)
    event_at(group, Event.Kind.MEETING, datetime(2025, 5, 1, 12, tzinfo=OSLO))

    report = report_for(group)

    assert report.year_over is True
    assert report.summary[-1] == "The year's requirements are met."
    assert not any(sentence.startswith("Still planned") for sentence in report.summary)


# --- The page -------------------------------------------------------------------------


def test_page_shows_meetings_held_against_required_with_cancelled_ones_marked(client):
    group = make_working_group(name="Sirkulær produksjon", year=last_year())
    for month in (1, 2, 3, 4):
        event_at(group, Event.Kind.MEETING, datetime(last_year(), month, 10, 16, tzinfo=OSLO))
    event_at(
        group,
        Event.Kind.MEETING,
        datetime(last_year(), 5, 10, 16, tzinfo=OSLO),
        title="Avlyst møte",
        cancelled_at=datetime(last_year(), 5, 1, tzinfo=OSLO),
    )
    event_at(group, Event.Kind.OPEN_EVENT, datetime(last_year(), 6, 1, 20, tzinfo=OSLO))

    response = client.get(report_url(group))

    assert response.status_code == 200
    meetings = section(response, "meetings-heading")
    assert meetings.startswith("Meetings 4 of 6 required meetings held Meetings Date Event Status")
    assert meetings.count(" Held") == 4
    assert "Avlyst møte Cancelled, not counted" in meetings
    assert section(response, "open-events-heading").startswith(
        "Open events 1 of 1 required open event held Met"
    )
    assert "The year's requirements were not met." in section(response, "summary-heading")


def test_page_of_a_year_to_come_lists_the_planned_events(client):
    group = make_working_group(year=this_year() + 1)
    event_at(group, Event.Kind.MEETING, datetime(this_year() + 1, 3, 1, 12, tzinfo=OSLO))

    response = client.get(report_url(group))

    assert "Planned" in section(response, "meetings-heading")
    assert "Still planned before the year ends: meetings 1, open events 0." in section(
        response, "summary-heading"
    )


def test_page_shows_members_with_their_organisations_and_nothing_private(client):
    group = make_working_group(year=last_year())
    approved = make_organisation(name="Trondheim kommune")
    proposed = make_organisation(name="Ny forening", status=Organisation.Status.PROPOSED)
    # The leader has an account: its address is not the public's.
    make_working_group_member(
        working_group=group,
        name="Kari Leder",
        organisation=approved,
        role="leader",
        user=make_user(email="kari.leder@example.org"),
    )
    make_working_group_member(working_group=group, name="Per Medlem", organisation=proposed)

    response = client.get(report_url(group))

    members = section(response, "members-heading")
    assert members == (
        "Members Members Name Organisation Role "
        "Kari Leder Trondheim kommune Leader Per Medlem Ny forening Member"
    )
    assert f'href="{approved.get_absolute_url()}"' in response.text
    # A proposed organisation has no public page, as on the group's own page.
    assert f'href="{proposed.get_absolute_url()}"' not in response.text
    assert "kari.leder@example.org" not in response.text


def test_page_names_only_published_initiatives_presented_and_proposed(client):
    group = make_working_group(year=last_year())
    meeting = event_at(group, Event.Kind.MEETING, datetime(last_year(), 3, 1, 12, tzinfo=OSLO))
    shown = make_initiative(status=Initiative.Status.PUBLISHED, title="Delt tiltak")
    make_presentation(event=meeting, initiative=shown)
    for status in (
        Initiative.Status.DRAFT,
        Initiative.Status.SUBMITTED,
        Initiative.Status.ARCHIVED,
    ):
        hidden = make_initiative(status=status, title=f"Skjult {status}")
        make_presentation(event=meeting, initiative=hidden)
        group.proposed_initiatives.add(hidden)
    # Presented at another year's event, or at one that was called off: not this report's.
    other_year = event_at(group, Event.Kind.MEETING, datetime(last_year() - 1, 3, 1, tzinfo=OSLO))
    make_presentation(
        event=other_year, initiative=make_initiative(status="published", title="I fjor")
    )
    called_off = event_at(
        group,
        Event.Kind.MEETING,
        datetime(last_year(), 4, 1, 12, tzinfo=OSLO),
        cancelled_at=datetime(last_year(), 3, 20, tzinfo=OSLO),
    )
    make_presentation(
        event=called_off, initiative=make_initiative(status="published", title="Avlyst")
    )
    proposed = make_initiative(status=Initiative.Status.PUBLISHED, title="Foreslått tiltak")
    group.proposed_initiatives.add(proposed)

    response = client.get(report_url(group))

    presented = section(response, "presented-heading")
    assert "Delt tiltak" in presented
    assert "I fjor" not in presented
    assert "Avlyst" not in presented
    assert section(response, "proposed-heading") == (
        f"Initiatives the group proposed Foreslått tiltak , {proposed.lead_organisation.name}"
    )
    assert "Skjult" not in response.text
    assert response.context["report"].summary[3:5] == [
        "Published initiatives presented at the group's events: 1.",
        "Published initiatives the group proposed: 1.",
    ]


def test_page_escapes_html(client):
    group = make_working_group(year=last_year(), name="<script>alert(1)</script>")
    make_working_group_member(working_group=group, name="<b>Kari</b>")

    response = client.get(report_url(group))

    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<b>Kari</b>" not in response.text


@pytest.mark.parametrize("slug", ["finnes-ikke", "a" * 300])
def test_page_unknown_group_is_404(client, slug):
    response = client.get(f"/en/arbeidsgrupper/{slug}/arsrapport/")

    assert response.status_code == 404


def test_page_is_public_and_linked_from_the_group_page(client):
    group = make_working_group(year=last_year())

    group_page = client.get(f"/arbeidsgrupper/{group.slug}/")
    response = client.get(report_url(group, "nb"))

    assert f'href="{report_url(group, "nb")}"' in group_page.text
    assert response.status_code == 200


def test_page_links_its_print_stylesheet_and_says_how_to_print(client):
    group = make_working_group(year=last_year())

    response = client.get(report_url(group))

    assert '<link rel="stylesheet" href="/static/css/workinggroup_report.css">' in response.text
    assert "use your browser's print command (Ctrl+P" in response.text
    # The site's own address (SITE_URL), not the Host the request named.
    assert f"Printed from {settings.SITE_URL}{report_url(group)} on " in response.text


def test_print_stylesheet_hides_the_site_around_the_report():
    css = (Path(settings.BASE_DIR) / "static/css/workinggroup_report.css").read_text()
    print_rules = css[css.index("@media print") :]

    for selector in (".ds-skip-link", ".site-header", ".site-footer", "nav"):
        assert selector in print_rules.split("{", 1)[1].split("}")[0]
    assert "break-inside: avoid" in print_rules
    assert 'content: " (" attr(href) ")"' in print_rules
    # Why print CSS and not WeasyPrint is written down where the choice is made.
    assert "WeasyPrint" in css


def test_page_in_bokmal(client):
    group = make_working_group(year=last_year())

    response = client.get(report_url(group, "nb"))

    assert response.status_code == 200
    assert '<html lang="nb"' in response.text


# --- Queries --------------------------------------------------------------------------


def full_year(group: WorkingGroup, items: int) -> None:
    for n in range(items):
        day = datetime(last_year(), 1 + n % 12, 1 + n // 12, 12, tzinfo=OSLO)
        meeting = event_at(group, Event.Kind.MEETING, day)
        event_at(group, Event.Kind.OPEN_EVENT, day + timedelta(hours=3))
        event_at(group, Event.Kind.WEBINAR, day + timedelta(hours=6))
        make_presentation(event=meeting)
        make_working_group_member(working_group=group, organisation=make_organisation())
        group.proposed_initiatives.add(make_initiative(status=Initiative.Status.PUBLISHED))


# The group with its progress and host; members; the year's events; the presentations of
# published initiatives; the published initiatives it proposed.
REPORT_QUERIES = 5


@pytest.mark.parametrize("items", [1, 20])
def test_page_query_count_does_not_grow(client, django_assert_num_queries, items):
    group = make_working_group(year=last_year())
    full_year(group, items)

    with django_assert_num_queries(REPORT_QUERIES):
        response = client.get(report_url(group))

    report = response.context["report"]
    assert len(report.meetings) == items
    assert len(report.presentations) == items
    assert len(report.members) == items
    assert len(report.proposed) == items
