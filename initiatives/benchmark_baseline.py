"""What `crowd_benchmark` measures the real pages against: a floor and a naive list.

The floor renders only base.html with an empty content block: what any page
costs before it does its own work. The naive baseline is the initiative list
as a plain Django ListView would serve it: published, newest first, 20 a page,
`?q=` as a case-insensitive substring match (ILIKE on PostgreSQL) on title and
summary, no facets, no caching, every count asked of the database, rendered
with the card the real list uses. Both are served by the benchmark's URLconf
(ideabank/benchmark_urls.py) only, never by the site.
"""

from functools import cache

from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.views.generic import ListView

from initiatives.models import Adoption, Goal, Initiative

# Kept here rather than in templates/, so the site's templates hold nothing the site never shows.
BASELINE_TEMPLATE = """{% extends "base.html" %}{% load i18n %}
{% block title %}Baseline{% endblock %}
{% block content %}
<div class="site-width">
  <h1 class="ds-heading" data-size="lg">{% translate "Initiatives" %}</h1>
  <form method="get" action=""><input class="ds-input" type="search" name="q" value="{{ q }}"></form>
  <h2 class="ds-heading" data-size="xs">{{ paginator.count }}</h2>
  <ul class="result-list">
    {% for initiative in initiatives %}<li>{% include "includes/initiative_card.html" %}</li>{% endfor %}
  </ul>
  {% include "includes/pagination.html" %}
</div>
{% endblock %}
"""


def floor(request: HttpRequest) -> HttpResponse:
    """The bare layout with an empty content block."""
    return render(request, "base.html")


class BaselineList(ListView):
    """The initiative list as a first version would write it, for comparison."""

    paginate_by = 20
    context_object_name = "initiatives"

    def get_queryset(self):
        # What any Django developer adds after seeing the query count: no N+1 per card.
        queryset = (
            Initiative.objects.published()
            .select_related("lead_organisation", "municipality", "county")
            .prefetch_related(Prefetch("goals", queryset=Goal.objects.order_by("number")))
            .order_by("-published_at", "-pk")
        )
        text = self.request.GET.get("q", "").strip()
        if text:
            queryset = queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text))
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"]
        # The card shows how many took an initiative up: one query for the page, as the real list.
        adoptions = dict(
            Adoption.objects.filter(initiative__in=page.object_list)
            .values("initiative")
            .annotate(n=Count("pk"))
            .values_list("initiative", "n")
        )
        for initiative in page.object_list:
            initiative.adoption_total = adoptions.get(initiative.pk, 0)
        query = self.request.GET.copy()
        query.pop("page", None)
        context["q"] = self.request.GET.get("q", "")
        context["page_query"] = query.urlencode()
        return context

    def render_to_response(self, context, **response_kwargs):
        return HttpResponse(baseline_template().render(context, self.request))


@cache
def baseline_template():
    # Compiled once per process, as the cached template loader does for the real pages.
    return engines["django"].from_string(BASELINE_TEMPLATE)
