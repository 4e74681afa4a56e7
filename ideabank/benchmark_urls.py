"""The URLconf `crowd_benchmark` serves through gunicorn: the site plus two reference pages.

The server picks it up from the IDEABANK_ROOT_URLCONF environment variable; the
site itself never serves these pages.
"""

from django.urls import path

from ideabank import urls as project_urls
from initiatives.benchmark_baseline import BaselineList, floor

urlpatterns = [
    path("__benchmark__/floor/", floor, name="benchmark-floor"),
    path("__benchmark__/baseline/", BaselineList.as_view(), name="benchmark-baseline"),
    *project_urls.urlpatterns,
]
