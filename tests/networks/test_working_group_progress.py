"""How a working group's year is going: meetings and open events held, counted per group and year."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from networks.models import Event, WorkingGroup
from tests.factories import make_event, make_working_group

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
# Progress is counted as it stood at this moment, so the tests do not depend on today's date.
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=OSLO)


def held(group: WorkingGroup, kind: str, ends_at: datetime) -> Event:
    """An event the group organised that ended at `ends_at` (local Oslo time)."""
    return make_event(
        organiser_working_group=group,
        kind=kind,
        starts_at=ends_at - timedelta(hours=2),
        ends_at=ends_at,
    )


def progress(group: WorkingGroup) -> tuple[int, int]:
    annotated = WorkingGroup.objects.with_progress(now=NOW).get(pk=group.pk)
    return annotated.meetings_held, annotated.open_events_held


def test_with_progress_counts_meetings_and_open_events_held():
    group = make_working_group(year=2026)
    for month in (1, 3, 5):
        held(group, Event.Kind.MEETING, datetime(2026, month, 10, 16, tzinfo=OSLO))
    held(group, Event.Kind.OPEN_EVENT, datetime(2026, 6, 1, 20, tzinfo=OSLO))

    assert progress(group) == (3, 1)


def test_with_progress_counts_nothing_for_a_group_without_events():
    group = make_working_group(year=2026)

    assert progress(group) == (0, 0)


def test_with_progress_skips_other_years_future_groups_and_kinds():
    group = make_working_group(year=2026)
    other_group = make_working_group(year=2026)
    held(group, Event.Kind.MEETING, datetime(2026, 2, 1, 12, tzinfo=OSLO))
    held(group, Event.Kind.MEETING, datetime(2025, 11, 1, 12, tzinfo=OSLO))  # last year
    held(group, Event.Kind.OPEN_EVENT, datetime(2027, 2, 1, 12, tzinfo=OSLO))  # next year
    held(group, Event.Kind.MEETING, NOW + timedelta(days=10))  # still to come
    held(group, Event.Kind.WEBINAR, datetime(2026, 3, 1, 12, tzinfo=OSLO))  # other kind
    held(group, Event.Kind.WORKSHOP, datetime(2026, 3, 2, 12, tzinfo=OSLO))  # other kind
    held(other_group, Event.Kind.MEETING, datetime(2026, 4, 1, 12, tzinfo=OSLO))
    held(other_group, Event.Kind.OPEN_EVENT, datetime(2026, 4, 2, 12, tzinfo=OSLO))
    make_event(kind=Event.Kind.MEETING, starts_at=datetime(2026, 4, 3, 12, tzinfo=OSLO))

    assert progress(group) == (1, 0)
    assert progress(other_group) == (1, 1)


def test_with_progress_excludes_an_event_still_going_on():
    group = make_working_group(year=2026)
    make_event(
        organiser_working_group=group,
        kind=Event.Kind.MEETING,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=1),
    )

    assert progress(group) == (0, 0)


def test_with_progress_places_the_year_boundary_in_oslo_time():
    group = make_working_group(year=2026)
    # Both are still in the other year in UTC (23:30 on 31 December); Oslo time decides.
    held(group, Event.Kind.MEETING, datetime(2026, 1, 1, 0, 30, tzinfo=OSLO))  # counts
    held(group, Event.Kind.MEETING, datetime(2027, 1, 1, 0, 30, tzinfo=OSLO))  # 2027

    annotated = WorkingGroup.objects.with_progress(now=datetime(2027, 6, 1, tzinfo=OSLO))

    assert annotated.get(pk=group.pk).meetings_held == 1


def test_with_progress_counts_each_group_in_its_own_year():
    this_year = make_working_group(year=2026)
    last_year = make_working_group(year=2025)
    for group in (this_year, last_year):
        held(group, Event.Kind.MEETING, datetime(2025, 6, 1, 12, tzinfo=OSLO))
        held(group, Event.Kind.MEETING, datetime(2026, 6, 1, 12, tzinfo=OSLO))
        held(group, Event.Kind.MEETING, datetime(2026, 7, 1, 12, tzinfo=OSLO))

    assert progress(this_year) == (2, 0)
    assert progress(last_year) == (1, 0)


def test_with_progress_defaults_to_now():
    group = make_working_group(year=timezone.now().astimezone(OSLO).year)
    held(group, Event.Kind.MEETING, timezone.now() - timedelta(minutes=1))
    held(group, Event.Kind.MEETING, timezone.now() + timedelta(days=400))

    annotated = WorkingGroup.objects.with_progress().get(pk=group.pk)

    assert annotated.meetings_held == 1


@pytest.mark.parametrize(
    ("meetings", "open_events", "expected"),
    [
        (6, 1, (True, True, True)),
        (7, 2, (True, True, True)),
        (5, 1, (False, True, False)),
        (6, 0, (True, False, False)),
    ],
)
def test_requirements_met_against_required_numbers(meetings, open_events, expected):
    group = make_working_group(year=2026)
    for day in range(meetings):
        held(group, Event.Kind.MEETING, datetime(2026, 2, day + 1, 12, tzinfo=OSLO))
    for day in range(open_events):
        held(group, Event.Kind.OPEN_EVENT, datetime(2026, 3, day + 1, 12, tzinfo=OSLO))

    annotated = WorkingGroup.objects.with_progress(now=NOW).get(pk=group.pk)

    assert (
        annotated.meetings_met,
        annotated.open_events_met,
        annotated.requirements_met,
    ) == expected


def test_requirements_met_follows_the_groups_own_numbers():
    group = make_working_group(year=2026, required_meetings=2, required_open_events=0)
    held(group, Event.Kind.MEETING, datetime(2026, 2, 1, 12, tzinfo=OSLO))
    held(group, Event.Kind.MEETING, datetime(2026, 2, 2, 12, tzinfo=OSLO))

    annotated = WorkingGroup.objects.with_progress(now=NOW).get(pk=group.pk)

    assert annotated.requirements_met is True


@pytest.mark.parametrize("groups", [1, 20])
def test_with_progress_uses_one_query_for_any_number_of_groups(groups, django_assert_num_queries):
    made = [make_working_group(year=2026) for _ in range(groups)]
    for group in made:
        held(group, Event.Kind.MEETING, datetime(2026, 2, 1, 12, tzinfo=OSLO))
        held(group, Event.Kind.OPEN_EVENT, datetime(2026, 3, 1, 12, tzinfo=OSLO))

    with django_assert_num_queries(1):
        rows = [
            (g.meetings_held, g.open_events_held, g.requirements_met)
            for g in WorkingGroup.objects.with_progress(now=NOW)
        ]

    assert rows == [(1, 1, False)] * groups
