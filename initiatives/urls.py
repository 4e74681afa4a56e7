from django.urls import path

from initiatives import views

app_name = "initiatives"

urlpatterns = [
    path("tiltak/", views.initiative_list, name="list"),
    path("tiltak/<slug:slug>/", views.initiative_detail, name="detail"),
    path("barekraftsmal/<int:number>/", views.goal_detail, name="goal"),
    path("organisasjoner/<slug:slug>/", views.organisation_detail, name="organisation"),
    path("aktortyper/<slug:slug>/", views.actor_type_detail, name="actor_type"),
    path("formal/<slug:slug>/", views.purpose_detail, name="purpose"),
]
