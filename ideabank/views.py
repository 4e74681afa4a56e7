from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from initiatives.models import Goal, Initiative


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {
            "goals": Goal.objects.all(),
            "published_count": Initiative.objects.published().count(),
        },
    )
