"""One FilterSet per list page: networks, working groups, events."""

from datetime import datetime

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from initiatives.models import ActorType, County, FocusArea, Goal, Organisation, Scope
from networks.forms import EventFilterForm, NetworkFilterForm
from networks.models import OSLO, Event, Network, WorkingGroup

# --- Networks -------------------------------------------------------------------------


class NetworkFilter(django_filters.FilterSet):
    """One value per filter; a value that names nothing is a form error the view reports.

    Each matches the network's own fields: a sub-group shows up by what it says of itself.
    """

    scope = django_filters.ChoiceFilter(
        label=_("Scope"), choices=Scope.choices, empty_label=_("All scopes")
    )
    focus_area = django_filters.ModelChoiceFilter(
        label=_("Focus area"),
        field_name="focus_areas",
        to_field_name="slug",
        queryset=FocusArea.objects.all(),
        empty_label=_("All focus areas"),
        # One value of a many-to-many matches a network at most once: no DISTINCT needed.
        distinct=False,
    )
    goal = django_filters.ModelChoiceFilter(
        label=_("Sustainable Development Goal"),
        field_name="goals",
        to_field_name="number",
        queryset=Goal.objects.all(),
        empty_label=_("All goals"),
        distinct=False,
    )
    county = django_filters.ModelChoiceFilter(
        label=_("County"),
        field_name="county",
        to_field_name="number",
        queryset=County.objects.all(),
        empty_label=_("All counties"),
    )

    class Meta:
        model = Network
        fields: list[str] = []
        form = NetworkFilterForm


# --- Working groups ------------------------------------------------------------------


class YearFilter(django_filters.NumberFilter):
    # A whole year: the default decimal field would take "2026.5" and "1e3".
    field_class = forms.IntegerField


class WorkingGroupFilter(django_filters.FilterSet):
    year = YearFilter(label=_("Year"), min_value=2000, max_value=2100)
    focus_area = django_filters.ModelChoiceFilter(
        label=_("Focus area"), to_field_name="slug", queryset=FocusArea.objects.all()
    )

    class Meta:
        model = WorkingGroup
        fields: list[str] = []


# --- Events ---------------------------------------------------------------------------

MONTH_VALIDATOR = RegexValidator(
    r"^(19|20)\d\d-(0[1-9]|1[0-2])$",
    message=_("Give a month as year and month, such as 2026-09."),
)
ORGANISER_FIELDS = {
    "network": "organiser_network",
    "group": "organiser_working_group",
    "organisation": "organiser_organisation",
}


class EventFilter(django_filters.FilterSet):
    """Filters for the upcoming and the past events; the view passes the list's events in.

    The organiser and month options are read from those events, so an option finds
    something. A bookmarked choice with nothing here (a network whose events are all
    over, any well-formed YYYY-MM) stays valid and gives an empty list, not an error.
    """

    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Event.Kind.choices, empty_label=_("All kinds")
    )
    organiser = django_filters.ChoiceFilter(
        label=_("Organiser"),
        # Filled in per list by __init__; "network:<slug>", "group:<slug>", "organisation:<slug>".
        choices=[],
        empty_label=_("All organisers"),
        method="filter_organiser",
    )
    audience = django_filters.ModelChoiceFilter(
        label=_("Audience"),
        field_name="audience",
        to_field_name="slug",
        queryset=ActorType.objects.all(),
        empty_label=_("All audiences"),
        # One actor type matches an event at most once: no DISTINCT needed.
        distinct=False,
    )
    month = django_filters.CharFilter(
        label=_("Month"),
        validators=[MONTH_VALIDATOR],
        widget=forms.Select,
        method="filter_month",
    )

    class Meta:
        model = Event
        fields: list[str] = []
        form = EventFilterForm

    def __init__(self, data=None, queryset: QuerySet | None = None, **kwargs) -> None:
        super().__init__(data, queryset=queryset, **kwargs)
        events = self.queryset
        chosen = self.data if self.data is not None else {}
        # The field puts its empty choice ("All organisers") first itself.
        self.form.fields["organiser"].choices = organiser_choices(
            events, chosen=chosen.get("organiser", "")
        )
        self.form.fields["month"].widget.choices = month_choices(
            events, chosen=chosen.get("month", "")
        )

    def filter_organiser(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        kind, slug = value.split(":", 1)
        return queryset.filter(**{f"{ORGANISER_FIELDS[kind]}__slug": slug})

    def filter_month(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        start = month_start(value)
        end = month_start(f"{start.year + start.month // 12}-{start.month % 12 + 1:02d}")
        # Under way at any time in the month, in Norwegian time: a conference over the
        # turn of a month belongs to both.
        return queryset.filter(starts_at__lt=end, ends_at__gte=start)


def month_start(value: str) -> datetime:
    year, month = value.split("-")
    return datetime(int(year), int(month), 1, tzinfo=OSLO)


def organiser_choices(
    events: QuerySet, *, chosen: str = ""
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Who organises any of `events`, grouped: networks, working groups, organisations.

    The chosen organiser is offered even without events here (a bookmarked network
    whose events are all over): the list is then empty rather than the choice refused.
    """
    events = events.order_by()
    chosen_kind, _sep, chosen_slug = chosen.partition(":")

    def organising(queryset: QuerySet, kind: str) -> QuerySet:
        condition = Q(Exists(events.filter(**{ORGANISER_FIELDS[kind]: OuterRef("pk")})))
        if kind == chosen_kind and chosen_slug:
            condition |= Q(slug=chosen_slug)
        return queryset.filter(condition)

    groups = [
        (
            _("Networks"),
            [
                (f"network:{slug}", name)
                for slug, name in organising(Network.objects.all(), "network")
                .order_by("name")
                .values_list("slug", "name")
            ],
        ),
        (
            _("Working groups"),
            [
                (f"group:{group.slug}", str(group))
                for group in organising(WorkingGroup.objects.all(), "group").only(
                    "slug", "name", "year"
                )
            ],
        ),
        (
            _("Organisations"),
            [
                (f"organisation:{slug}", name)
                for slug, name in organising(Organisation.objects.all(), "organisation")
                .order_by("name")
                .values_list("slug", "name")
            ],
        ),
    ]
    return [(label, options) for label, options in groups if options]


def month_choices(events: QuerySet, *, chosen: str = "") -> list[tuple[str, str]]:
    """The months `events` start in, in the list's order, and the chosen one if it is
    well-formed but has none (nothing matches, and the select still shows the choice)."""
    ordering = events.query.order_by
    descending = bool(ordering) and str(ordering[0]).startswith("-")
    months = events.order_by().datetimes(
        "starts_at", "month", order="DESC" if descending else "ASC", tzinfo=OSLO
    )
    values = [f"{month:%Y-%m}" for month in months]
    if chosen and chosen not in values:
        try:
            MONTH_VALIDATOR(chosen)
        except forms.ValidationError:
            pass
        else:
            values.append(chosen)
    return [("", _("All months"))] + [
        (value, capfirst(formats.date_format(month_start(value), "YEAR_MONTH_FORMAT")))
        for value in values
    ]


FILTER_VALUE_MAX_LENGTH = 200


def usable_filter_values(query: QueryDict, filterset_class) -> tuple[QueryDict, list[str]]:
    """The filter values from the URL (the last of each), without those no filter could use,
    and a message for each one left out: such values would reach the database as they are,
    and a NUL byte fails there."""
    data, problems = QueryDict(mutable=True), []
    for name, list_filter in filterset_class.base_filters.items():
        value = query.get(name, "").strip()
        if not value:
            continue
        if "\x00" in value or len(value) > FILTER_VALUE_MAX_LENGTH:
            problems.append(
                gettext(
                    "A value for “%(name)s” was too long or contained invalid characters and was ignored."
                )
                % {"name": list_filter.label}
            )
            continue
        data[name] = value
    return data, problems
