"""The form pages read the database a fixed number of times, however much the initiative
holds and however many organisations the user belongs to."""

import pytest
from django.urls import reverse

from initiatives import engine
from initiatives.models import Goal, Initiative, Target
from tests.factories import (
    make_attachment,
    make_confirmed_user,
    make_initiative,
    make_link,
    make_org_member,
    make_organisation,
    make_participation,
)

pytestmark = pytest.mark.django_db

CREATE = "/en/del-tiltak/"
# The same for one item and for twenty: session, user, permissions, the initiative and its
# relations, the choices of each field (read once for all rows), similar initiatives.
CREATE_GET = 14
CREATE_POST = 22
# Editing also reads the campaigns the initiative answers.
EDIT_GET = 29
EDIT_POST = 38


def member_of(count: int):
    """A confirmed user who is an active member of `count` organisations (the first leads)."""
    user = make_confirmed_user()
    organisations = [make_organisation() for _ in range(count)]
    for organisation in organisations:
        make_org_member(organisation=organisation, user=user)
    return user, organisations[0]


def full_initiative(lead, user, count: int) -> Initiative:
    initiative = make_initiative(lead_organisation=lead, created_by=user)
    for _ in range(count):
        make_participation(initiative=initiative)
        make_link(initiative=initiative)
        make_attachment(initiative=initiative)
    initiative.goals.set(Goal.objects.order_by("number")[:count])
    initiative.targets.set(Target.objects.order_by("pk")[:count])
    initiative.tags.set([f"emne{n}" for n in range(count)])
    return initiative


def posted(initiative: Initiative | None, lead, **overrides) -> dict:
    """The form as the browser would post it back, rows included."""
    data = {
        "action": "save",
        "lead_organisation": str(lead.pk),
        "title": initiative.title if initiative else "Nytt tiltak",
    }
    groups = {
        "partners": list(initiative.participations.order_by("pk")) if initiative else [],
        "links": list(initiative.links.all()) if initiative else [],
        "attachments": list(initiative.attachments.all()) if initiative else [],
    }
    for prefix, items in groups.items():
        data[f"{prefix}-TOTAL_FORMS"] = str(len(items))
        data[f"{prefix}-INITIAL_FORMS"] = str(len(items))
        for index, item in enumerate(items):
            data[f"{prefix}-{index}-id"] = str(item.pk)
            if prefix == "partners":
                data[f"{prefix}-{index}-organisation"] = str(item.organisation_id)
                data[f"{prefix}-{index}-role"] = item.role
            elif prefix == "links":
                data[f"{prefix}-{index}-title"] = item.title
                data[f"{prefix}-{index}-url"] = item.url
            else:
                data[f"{prefix}-{index}-title"] = item.title
    if initiative:
        data["goals"] = [str(pk) for pk in initiative.goals.values_list("pk", flat=True)]
        data["targets"] = [str(pk) for pk in initiative.targets.values_list("pk", flat=True)]
        data["tags"] = ", ".join(initiative.tags.names())
    data.update(overrides)
    return data


@pytest.mark.parametrize("count", [1, 20])
def test_create_page_queries_do_not_grow(client, django_assert_num_queries, count):
    user, lead = member_of(count)
    client.force_login(user)

    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(CREATE_GET):
        response = client.get(CREATE)

    assert response.status_code == 200
    assert len(response.context["form"].fields["lead_organisation"].objects) == count


@pytest.mark.parametrize("count", [1, 20])
def test_create_invalid_post_queries_do_not_grow(client, django_assert_num_queries, count):
    user, lead = member_of(count)
    client.force_login(user)
    data = posted(None, lead, title="x" * 201)

    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(CREATE_POST):
        response = client.post(CREATE, data)

    assert response.context["form"].errors["title"]
    assert Initiative.objects.count() == 0


@pytest.mark.parametrize("count", [1, 20])
def test_edit_page_queries_do_not_grow(client, django_assert_num_queries, count):
    user, lead = member_of(count)
    initiative = full_initiative(lead, user, count)
    client.force_login(user)

    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(EDIT_GET):
        response = client.get(reverse("initiatives:edit", args=[initiative.slug]))

    assert response.context["partners"].total_form_count() == count + 1
    assert response.context["links"].total_form_count() == count + 1
    # Twenty documents is the most: no empty row is offered then.
    assert response.context["attachments"].total_form_count() == min(count + 1, 20)


@pytest.mark.parametrize("count", [1, 20])
def test_edit_invalid_post_queries_do_not_grow(client, django_assert_num_queries, count):
    user, lead = member_of(count)
    initiative = full_initiative(lead, user, count)
    client.force_login(user)
    data = posted(initiative, lead, title="x" * 201)

    engine.engine()  # built once per process, then one query per request
    with django_assert_num_queries(EDIT_POST):
        response = client.post(reverse("initiatives:edit", args=[initiative.slug]), data)

    assert response.context["form"].errors["title"]
    assert response.context["links"].total_form_count() == count
    initiative.refresh_from_db()
    assert initiative.title.startswith("Tiltak")
