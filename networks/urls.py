from django.urls import path

from networks import views

app_name = "networks"

urlpatterns = [
    # Networks and join requests.
    # Working groups.
    # Events, registration and calendars.
]
