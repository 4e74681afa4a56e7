"""Deletes that would take other people's data with them are refused, in the admin with a
message naming what blocks them and what to do instead; deletes nothing blocks still work.

The networks side (events with registrations, networks with sub-groups) is in
tests/networks/test_protected_deletes.py; both use the helpers here.
"""

import pytest
from django.contrib import admin
from django.db.models import ProtectedError
from django.utils import translation
from django.utils.html import escape

from initiatives.models import Adoption, Initiative, Organisation, OrganisationMember
from networks.models import Membership, Presentation
from tests.factories import (
    make_adoption,
    make_initiative,
    make_link,
    make_membership,
    make_moderator,
    make_org_member,
    make_organisation,
    make_participation,
    make_presentation,
    make_status_change,
)
from tests.initiatives.test_admin import admin_url

pytestmark = pytest.mark.django_db


def refusal_in_norwegian(obj, blockers: list[tuple[type, int]]) -> str:
    """The message the Bokmål admin shows: what blocks `obj`, counted, and what to do."""
    model_admin = admin.site._registry[type(obj)]
    with translation.override("nb"):
        counted = sorted((str(model._meta.verbose_name), count, model) for model, count in blockers)
        names = ", ".join(
            f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
            for _, count, model in counted
        )
        return translation.gettext(
            "“%(object)s” cannot be deleted: it has %(blockers)s. %(instead)s"
        ) % {"object": obj, "blockers": names, "instead": str(model_admin.delete_instead)}


def delete_page(client, obj):
    return client.get(admin_url(type(obj), "delete", obj.pk))


def confirm_delete(client, obj):
    return client.post(admin_url(type(obj), "delete", obj.pk), {"post": "yes"})


def bulk_delete(client, objects):
    model = type(objects[0])
    return client.post(
        admin_url(model, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [obj.pk for obj in objects],
            "index": 0,
            "post": "yes",
        },
    )


def assert_refused(response, obj, blockers) -> None:
    """The page says why, deletes nothing, and Django lists the protected rows."""
    assert response.status_code == 200
    assert escape(refusal_in_norwegian(obj, blockers)) in response.content.decode()
    assert response.context["protected"]
    assert type(obj).objects.filter(pk=obj.pk).exists() is True


def adopted_initiative() -> Initiative:
    initiative = make_initiative(status=Initiative.Status.PUBLISHED)
    make_adoption(initiative=initiative)
    return initiative


def busy_organisation() -> Organisation:
    organisation = make_organisation()
    make_initiative(lead_organisation=organisation)
    make_adoption(organisation=organisation)
    make_org_member(organisation=organisation)
    make_org_member(organisation=organisation)
    make_membership(organisation=organisation)
    return organisation


ORGANISATION_BLOCKERS = [(Initiative, 1), (Adoption, 1), (OrganisationMember, 2), (Membership, 1)]


# --- The models -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_blocked",
    [
        adopted_initiative,
        lambda: make_presentation().initiative,
        lambda: make_adoption().organisation,
        lambda: make_org_member().organisation,
        lambda: make_membership().organisation,
    ],
    ids=[
        "initiative-adopted",
        "initiative-presented",
        "organisation-adoption",
        "organisation-member",
        "organisation-network-membership",
    ],
)
def test_delete_that_would_remove_others_data_is_refused_by_the_database_rules(make_blocked):
    obj = make_blocked()

    with pytest.raises(ProtectedError):
        obj.delete()

    assert type(obj).objects.filter(pk=obj.pk).exists() is True


def test_deleting_an_initiative_nobody_else_depends_on_takes_its_own_rows_along():
    initiative = make_initiative()
    make_link(initiative=initiative)
    make_participation(initiative=initiative)
    make_status_change(initiative=initiative)

    initiative.delete()

    assert Initiative.objects.filter(pk=initiative.pk).exists() is False


def test_deleting_an_adoption_report_stays_possible():
    adoption = make_adoption()

    adoption.delete()

    assert Adoption.objects.filter(pk=adoption.pk).exists() is False


# --- The admin: one object's delete page ---------------------------------------------------


def test_initiative_delete_page_says_what_blocks_it_and_to_archive(admin_client):
    initiative = adopted_initiative()
    make_presentation(initiative=initiative)

    response = delete_page(admin_client, initiative)

    assert_refused(response, initiative, [(Adoption, 1), (Presentation, 1)])


def test_initiative_delete_confirmed_anyway_is_refused_with_the_message(admin_client):
    initiative = adopted_initiative()

    response = confirm_delete(admin_client, initiative)

    assert_refused(response, initiative, [(Adoption, 1)])


@pytest.mark.parametrize("role", ["superuser", "moderator"])
def test_organisation_delete_page_says_what_blocks_it_and_to_merge(client, request, role):
    client.force_login(make_moderator() if role == "moderator" else request.getfixturevalue(role))
    organisation = busy_organisation()

    response = confirm_delete(client, organisation)

    assert_refused(response, organisation, ORGANISATION_BLOCKERS)


def test_organisation_nothing_depends_on_is_deleted(admin_client):
    organisation = make_organisation()

    response = confirm_delete(admin_client, organisation)

    assert response.status_code == 302
    assert Organisation.objects.filter(pk=organisation.pk).exists() is False


def test_initiative_nothing_depends_on_is_deleted_by_a_superuser(admin_client):
    initiative = make_initiative()
    make_link(initiative=initiative)

    response = confirm_delete(admin_client, initiative)

    assert response.status_code == 302
    assert Initiative.objects.filter(pk=initiative.pk).exists() is False


# --- The admin: the bulk "delete selected" action ------------------------------------------


def test_bulk_delete_of_organisations_is_refused_naming_each_blocked_one(admin_client):
    free = make_organisation()
    busy = busy_organisation()
    adopter = make_adoption().organisation

    response = bulk_delete(admin_client, [free, busy, adopter])

    assert_refused(response, busy, ORGANISATION_BLOCKERS)
    assert_refused(response, adopter, [(Adoption, 1)])
    # Django deletes none of the selection while any of it is protected.
    assert Organisation.objects.filter(pk=free.pk).exists() is True


def test_bulk_delete_of_initiatives_is_refused_with_the_message(admin_client):
    initiative = adopted_initiative()

    response = bulk_delete(admin_client, [initiative, make_initiative()])

    assert_refused(response, initiative, [(Adoption, 1)])


def test_bulk_delete_goes_ahead_when_nothing_blocks(admin_client):
    organisations = [make_organisation(), make_organisation()]

    response = bulk_delete(admin_client, organisations)

    assert response.status_code == 302
    assert Organisation.objects.filter(pk__in=[o.pk for o in organisations]).count() == 0
