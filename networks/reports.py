"""A working group's year report: what the group did in its year, for the network's board.

The counts held against the required numbers are `WorkingGroup.objects.with_progress()`'s;
the lists beside them sort the same events the same way (`event_state`): an event of the
group's year (ended within it, Oslo time) is cancelled, held (ended before `now`) or
still planned. Only published initiatives are named. A fixed number of queries,
whatever the number of meetings, members and presentations.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from initiatives.models import Initiative
from networks.models import OSLO, Event, Presentation, WorkingGroup, WorkingGroupMember

HELD = "held"
CANCELLED = "cancelled"
PLANNED = "planned"


def event_state(event: Event, now: datetime) -> str:
    """As `with_progress` counts: a cancelled event is never held; one that has ended
    before `now` is held; anything else (under way or to come) is still planned."""
    if event.cancelled_at is not None:
        return CANCELLED
    if event.ends_at < now:
        return HELD
    return PLANNED


@dataclass
class ReportEvent:
    event: Event
    state: str


@dataclass
class YearReport:
    group: WorkingGroup  # annotated by with_progress()
    members: list[WorkingGroupMember]
    meetings: list[ReportEvent]
    open_events: list[ReportEvent]
    other_events: list[ReportEvent]
    presentations: list[Presentation]
    proposed: list[Initiative]
    year_over: bool
    organisation_count: int = 0
    summary: list[str] = field(default_factory=list)

    @property
    def leader(self) -> WorkingGroupMember | None:
        return next((m for m in self.members if m.role == WorkingGroupMember.Role.LEADER), None)

    @property
    def planned_meetings(self) -> int:
        return sum(1 for item in self.meetings if item.state == PLANNED)

    @property
    def planned_open_events(self) -> int:
        return sum(1 for item in self.open_events if item.state == PLANNED)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year's first moment and the next year's, Oslo time."""
    return datetime(year, 1, 1, tzinfo=OSLO), datetime(year + 1, 1, 1, tzinfo=OSLO)


def year_events(group: WorkingGroup):
    """The group's events that end within its year, Oslo time: those with_progress counts
    from (and the cancelled and planned ones beside them), in date order."""
    start, end = year_bounds(group.year)
    return group.events.filter(ends_at__gte=start, ends_at__lt=end).order_by("starts_at", "pk")


def year_report(group: WorkingGroup, now: datetime) -> YearReport:
    """The report of `group` (read with `with_progress(now=now)`), as it stands at `now`.

    Four queries: members, the year's events, the presentations at them of published
    initiatives, the published initiatives the group proposed."""
    members = list(group.members.select_related("organisation"))
    meetings, open_events, other_events = [], [], []
    for event in year_events(group):
        item = ReportEvent(event, event_state(event, now))
        if event.kind == Event.Kind.MEETING:
            meetings.append(item)
        elif event.kind == Event.Kind.OPEN_EVENT:
            open_events.append(item)
        else:
            other_events.append(item)
    # At the year's events that were not called off (held, or planned: the date says which).
    presentations = list(
        Presentation.objects.filter(
            event__in=year_events(group).filter(cancelled_at__isnull=True).values("pk"),
            initiative__in=Initiative.objects.published().values("pk"),
        )
        .select_related("event", "initiative__lead_organisation")
        .defer("initiative__search_vector", "initiative__facet_keys")
        .order_by("event__starts_at", "order", "pk")
    )
    proposed = list(
        Initiative.objects.published()
        .filter(proposed_by_working_groups=group)
        .select_related("lead_organisation")
        .order_by("title", "pk")
    )
    report = YearReport(
        group=group,
        members=members,
        meetings=meetings,
        open_events=open_events,
        other_events=other_events,
        presentations=presentations,
        proposed=proposed,
        year_over=now >= year_bounds(group.year)[1],
        organisation_count=len({m.organisation_id for m in members if m.organisation_id}),
    )
    report.summary = summary(report)
    return report


def summary(report: YearReport) -> list[str]:
    """A few plain sentences for the board: what was held against what is required, what
    is still planned, who took part, what came of it, and whether the mandate is met."""
    group = report.group
    sentences = [
        _("Meetings held in %(year)s: %(held)s of %(required)s required.")
        % {"year": group.year, "held": group.meetings_held, "required": group.required_meetings},
        _("Open events held: %(held)s of %(required)s required.")
        % {"held": group.open_events_held, "required": group.required_open_events},
    ]
    if not report.year_over and (report.planned_meetings or report.planned_open_events):
        sentences.append(
            _(
                "Still planned before the year ends: meetings %(meetings)s, open events %(open_events)s."
            )
            % {"meetings": report.planned_meetings, "open_events": report.planned_open_events}
        )
    sentences.append(
        ngettext(
            "Members: %(members)s, from %(organisations)s organisation.",
            "Members: %(members)s, from %(organisations)s organisations.",
            report.organisation_count,
        )
        % {"members": len(report.members), "organisations": report.organisation_count}
    )
    sentences.append(
        _("Published initiatives presented at the group's events: %(count)s.")
        % {"count": len({p.initiative_id for p in report.presentations})}
    )
    sentences.append(
        _("Published initiatives the group proposed: %(count)s.") % {"count": len(report.proposed)}
    )
    if group.requirements_met:
        sentences.append(_("The year's requirements are met."))
    elif report.year_over:
        sentences.append(_("The year's requirements were not met."))
    else:
        sentences.append(_("The year's requirements are not met yet."))
    return sentences
