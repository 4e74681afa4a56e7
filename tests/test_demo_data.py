import re

import pytest
from django.apps import apps
from django.core.management import call_command

from initiatives.models import Initiative, Organisation
from networks.models import Event, Network, WorkingGroup, WorkingGroupMember

pytestmark = pytest.mark.django_db

OUR_MODELS = [
    model
    for app in ("initiatives", "networks")
    for model in apps.get_app_config(app).get_models()
    # The facet engine's change log grows with every load, as it should.
    if model.__name__ != "CatalogueChange"
]


@pytest.fixture
def demo_data():
    call_command("load_demo_data", verbosity=0)


def snapshot() -> dict[str, list[int]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for model in OUR_MODELS
    }


def test_make_data_twice_gives_the_same_rows():
    call_command("load_reference_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)
    first = snapshot()

    call_command("load_reference_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)

    assert snapshot() == first
    assert first["Initiative"] != []


def test_demo_initiatives_are_published_and_varied(demo_data):
    initiatives = Initiative.objects.published()

    assert initiatives.count() >= 12
    assert initiatives.count() == Initiative.objects.count()
    assert initiatives.values("goals").distinct().count() >= 8
    assert initiatives.values("purposes").distinct().count() == 5
    assert initiatives.values("actor_types").distinct().count() >= 6
    assert all(i.status_changes.count() == 2 for i in initiatives)


def test_demo_networks_working_group_and_webinar(demo_data):
    top_level = Network.objects.filter(parent=None)
    group = WorkingGroup.objects.get()
    webinar = (
        Event.objects.filter(kind=Event.Kind.WEBINAR, presentations__isnull=False).distinct().get()
    )

    assert top_level.count() == 4
    assert sorted(n.subgroups.count() for n in top_level)[-1] == 3
    assert group.members.filter(role=WorkingGroupMember.Role.LEADER).count() == 1
    assert group.members.count() >= 8
    assert (group.required_meetings, group.required_open_events) == (6, 1)
    assert Event.objects.count() >= 3
    assert webinar.presentations.count() == 4
    assert all(
        p.initiative.is_published for p in webinar.presentations.select_related("initiative")
    )


def test_demo_data_has_no_real_contact_details(demo_data):
    emails = [
        *Initiative.objects.values_list("contact_email", flat=True),
        *Network.objects.values_list("contact_email", flat=True),
    ]
    phones = [
        phone for phone in Initiative.objects.values_list("contact_phone", flat=True) if phone
    ]

    assert [
        email for email in emails if email and not re.search(r"@example\.(org|com|net)$", email)
    ] == []
    assert phones == []
    assert Organisation.objects.exclude(organisation_number="").count() == 0
