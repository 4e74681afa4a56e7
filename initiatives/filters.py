"""The initiative list's filters: what the URL may say, checked, and how it narrows."""

import django_filters
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from initiatives.models import (
    ActorType,
    Adoption,
    County,
    FocusArea,
    Initiative,
    Municipality,
    Purpose,
    Target,
    public_tags,
)
from initiatives.search import search, with_all

GOAL_CHOICES = [(str(number), str(number)) for number in range(1, 18)]


class Sort:
    RELEVANCE = "relevance"
    NEWEST = "newest"
    ADOPTED = "adopted"
    TITLE = "title"
    CHOICES = [
        (RELEVANCE, _("Relevance")),
        (NEWEST, _("Newest")),
        (ADOPTED, _("Most adopted")),
        (TITLE, _("Title")),
    ]


class InitiativeFilter(django_filters.FilterSet):
    """Facets combine with AND; a multi-valued facet's values also combine with AND.

    So every facet count is exactly the number of results one more click gives.
    """

    purpose = django_filters.ModelMultipleChoiceFilter(
        label=_("Purpose"),
        to_field_name="slug",
        queryset=Purpose.objects.all(),
        method="filter_all",
    )
    group = django_filters.ChoiceFilter(
        label=_("Stakeholder group"), choices=ActorType.Group.choices, method="filter_group"
    )
    actor_type = django_filters.ModelMultipleChoiceFilter(
        label=_("Actor type"),
        to_field_name="slug",
        queryset=ActorType.objects.all(),
        method="filter_all",
    )
    goal = django_filters.MultipleChoiceFilter(
        label=_("Sustainable Development Goal"), choices=GOAL_CHOICES, method="filter_all"
    )
    target = django_filters.ModelMultipleChoiceFilter(
        label=_("Target"),
        to_field_name="code",
        queryset=Target.objects.all(),
        method="filter_all",
    )
    focus_area = django_filters.ModelMultipleChoiceFilter(
        label=_("Focus area"),
        to_field_name="slug",
        queryset=FocusArea.objects.all(),
        method="filter_all",
    )
    # Only tags a published initiative has: a draft's tag is "not understood", as a tag that
    # does not exist is, so the list tells nothing of drafts.
    tag = django_filters.ModelMultipleChoiceFilter(
        label=_("Tag"),
        to_field_name="slug",
        queryset=public_tags(),
        method="filter_all",
    )
    county = django_filters.ModelChoiceFilter(
        label=_("County"),
        to_field_name="number",
        queryset=County.objects.all(),
        method="filter_county",
    )
    municipality = django_filters.ModelChoiceFilter(
        label=_("Municipality"),
        field_name="municipality",
        to_field_name="number",
        queryset=Municipality.objects.all(),
    )
    phase = django_filters.ChoiceFilter(label=_("Phase"), choices=Initiative.Phase.choices)
    involvement = django_filters.ChoiceFilter(
        label=_("Involvement level"), choices=Initiative.Involvement.choices
    )
    adopted = django_filters.ChoiceFilter(
        label=_("Adoption"),
        choices=[("yes", _("Taken up by others")), ("no", _("Not yet taken up"))],
        method="filter_adopted",
    )
    # Time-dependent: an initiative ages out at midnight (InitiativeQuerySet.updated_recently).
    updated = django_filters.ChoiceFilter(
        label=_("Last updated"),
        choices=[("year", _("In the last year"))],
        method="filter_updated",
    )
    # The campaigns an initiative answers (networks' Campaign, reached through the reverse
    # relation: this app never imports networks). Campaigns are public, so any may be named.
    campaign = django_filters.ModelMultipleChoiceFilter(
        label=_("Campaign"),
        to_field_name="slug",
        queryset=Initiative._meta.get_field("campaigns").related_model.objects.all(),
        method="filter_campaign",
    )
    # Text search and sorting come last: they work on what the facets left.
    q = django_filters.CharFilter(label=_("Search"), max_length=200, method="filter_text")
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=Sort.CHOICES, method="filter_sort"
    )

    class Meta:
        model = Initiative
        fields: list[str] = []

    def filter_all(self, queryset: QuerySet, name: str, values) -> QuerySet:
        return with_all(queryset, name, values)

    def filter_group(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return with_all(queryset, "group", [value])

    def filter_county(self, queryset: QuerySet, name: str, county: County) -> QuerySet:
        return queryset.filter(Q(county=county) | Q(municipality__county=county))

    def filter_adopted(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        adopted = Exists(Adoption.objects.filter(initiative=OuterRef("pk")))
        return queryset.filter(adopted if value == "yes" else ~adopted)

    def filter_updated(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.updated_recently()

    def filter_campaign(self, queryset: QuerySet, name: str, campaigns) -> QuerySet:
        for campaign in campaigns:
            queryset = queryset.filter(
                Exists(
                    Initiative.campaigns.through.objects.filter(
                        initiative=OuterRef("pk"), campaign=campaign
                    )
                )
            )
        return queryset

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search(queryset, value).queryset

    def filter_sort(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied in filter_queryset, after the text search ranks

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        return order(queryset, self.sort_order())

    def sort_order(self) -> str:
        chosen = self.form.cleaned_data.get("sort") if hasattr(self.form, "cleaned_data") else ""
        searching = (
            bool(self.form.cleaned_data.get("q")) if hasattr(self.form, "cleaned_data") else False
        )
        if chosen == Sort.RELEVANCE and not searching:
            chosen = ""
        return chosen or (Sort.RELEVANCE if searching else Sort.NEWEST)


def order(queryset: QuerySet, sort: str) -> QuerySet:
    if sort == Sort.RELEVANCE:
        return queryset.order_by("-rank", "-published_at", "-pk")
    if sort == Sort.ADOPTED:
        adoptions = (
            Adoption.objects.filter(initiative=OuterRef("pk"))
            .values("initiative")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return queryset.annotate(adoption_total=Coalesce(Subquery(adoptions), 0)).order_by(
            "-adoption_total", "-published_at", "-pk"
        )
    if sort == Sort.TITLE:
        return queryset.order_by("title", "pk")
    return queryset.order_by("-published_at", "-pk")
