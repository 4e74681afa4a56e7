"""Attachments and images are served by the bank's own views, to those who may see them."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from initiatives.models import Initiative
from tests.factories import (
    make_attachment,
    make_confirmed_user,
    make_initiative,
    make_moderator,
    make_org_member,
    make_participation,
)

pytestmark = pytest.mark.django_db

Status = Initiative.Status
PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def stored(name: str, content: bytes) -> str:
    return default_storage.save(name, ContentFile(content))


def attachment_url(attachment) -> str:
    return reverse("initiatives:attachment", args=[attachment.initiative.slug, attachment.pk])


def image_url(initiative) -> str:
    return reverse("initiatives:image", args=[initiative.slug])


@pytest.fixture
def published_attachment():
    initiative = make_initiative(status=Status.PUBLISHED)
    return make_attachment(
        initiative=initiative,
        title="Sluttrapport: «Matsvinn» 2025/26",
        file=stored("attachments/abc123.pdf", PDF),
    )


@pytest.fixture
def draft_attachment(organisation):
    initiative = make_initiative(lead_organisation=organisation)
    return make_attachment(
        initiative=initiative, title="Utkast", file=stored("attachments/def456.docx", b"PK")
    )


def test_published_attachment_is_a_download_for_everyone(client, published_attachment):
    response = client.get(attachment_url(published_attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="sluttrapport-matsvinn-202526.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_content_type_follows_the_stored_suffix(client, organisation):
    owner = make_confirmed_user()
    make_org_member(organisation=organisation, user=owner)
    initiative = make_initiative(lead_organisation=organisation, status=Status.PUBLISHED)
    odd = make_attachment(
        initiative=initiative, title="", file=stored("attachments/x.html", b"<h1>")
    )

    response = client.get(attachment_url(odd))

    # Never served as a page of the site, whatever it holds.
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="vedlegg.html"'


def test_draft_attachment_anonymous_is_sent_to_login(client, draft_attachment):
    response = client.get(attachment_url(draft_attachment))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_draft_attachment_outsider_gets_404(client, draft_attachment):
    client.force_login(make_confirmed_user())

    response = client.get(attachment_url(draft_attachment))

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["owner", "partner", "moderator"])
def test_draft_attachment_for_those_who_may_see_the_draft(
    client, draft_attachment, organisation, who
):
    user = make_moderator() if who == "moderator" else make_confirmed_user()
    if who == "owner":
        make_org_member(organisation=organisation, user=user)
    elif who == "partner":
        partner = make_participation(initiative=draft_attachment.initiative).organisation
        make_org_member(organisation=partner, user=user)
    client.force_login(user)

    response = client.get(attachment_url(draft_attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK"
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response["Cache-Control"] == "private, no-store"


def test_attachment_of_another_initiative_is_404(client, published_attachment):
    other = make_initiative(status=Status.PUBLISHED)

    response = client.get(
        reverse("initiatives:attachment", args=[other.slug, published_attachment.pk])
    )

    assert response.status_code == 404


def test_missing_file_is_404_not_500(client):
    attachment = make_attachment(
        initiative=make_initiative(status=Status.PUBLISHED), file="attachments/gone.pdf"
    )

    response = client.get(attachment_url(attachment))

    assert response.status_code == 404


def test_published_image_is_shown_inline(client):
    initiative = make_initiative(
        status=Status.PUBLISHED, image=stored("images/abc.png", PNG), image_alt="Et bilde"
    )

    response = client.get(image_url(initiative))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_draft_image_anonymous_login_outsider_404_owner_200(client, organisation):
    initiative = make_initiative(
        lead_organisation=organisation, image=stored("images/d.webp", b"RIFF"), image_alt="X"
    )
    owner = make_confirmed_user()
    make_org_member(organisation=organisation, user=owner)

    anonymous = client.get(image_url(initiative))
    client.force_login(make_confirmed_user())
    outsider = client.get(image_url(initiative))
    client.force_login(owner)
    allowed = client.get(image_url(initiative))

    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("accounts:login"))
    assert outsider.status_code == 404
    assert allowed.status_code == 200
    assert allowed["Content-Type"] == "image/webp"


@pytest.mark.parametrize("image", ["", "images/not-an-image.svg"])
def test_no_image_or_a_non_image_is_404(client, image):
    initiative = make_initiative(status=Status.PUBLISHED, image=image)

    response = client.get(image_url(initiative))

    assert response.status_code == 404


def test_detail_page_links_to_the_serving_views(client, published_attachment):
    initiative = published_attachment.initiative
    Initiative.objects.filter(pk=initiative.pk).update(
        image=stored("images/top.png", PNG), image_alt="Toppbilde"
    )

    response = client.get(initiative.get_absolute_url())

    assert f'href="{attachment_url(published_attachment)}"' in response.text
    assert f'src="{image_url(initiative)}"' in response.text
    assert "/media/" not in response.text
