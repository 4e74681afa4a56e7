"""Request bodies over MAX_REQUEST_BYTES are refused before anything reads them (issue 11)."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory

from ideabank.request_limits import RequestSizeLimitMiddleware
from initiatives.uploads import MAX_UPLOAD_BYTES

LOGIN = "/konto/logg-inn/"


class UnreadableInput:
    """A wsgi.input that fails the test if anything reads the body."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read

    def __iter__(self):
        raise AssertionError("the request body was read")


def test_the_limit_holds_the_largest_upload_and_the_form():
    # The initiative form's image and one new document, plus the form's fields.
    assert settings.MAX_REQUEST_BYTES >= 2 * MAX_UPLOAD_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert settings.MAX_REQUEST_BYTES <= 30 * 1024 * 1024


@pytest.mark.django_db
def test_a_body_over_the_limit_gets_413_without_being_read(client):
    response = client.generic(
        "POST",
        LOGIN,
        # With no data the client sets no type: give it here, as the attack did.
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(500 * 1024 * 1024),
        **{"wsgi.input": UnreadableInput()},
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"25 MB" in response.content


@pytest.mark.django_db
def test_the_refusal_is_in_the_language_of_the_path(client):
    response = client.generic(
        "POST",
        "/en" + LOGIN,
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1),
        **{"wsgi.input": UnreadableInput()},
    )

    assert response.status_code == 413
    assert response.content.decode() == (
        "What was sent is larger than 25 MB, so nothing was saved. Go back (your "
        "browser keeps what you typed) and send fewer or smaller files at a time."
    )


@pytest.mark.django_db
def test_a_chunked_body_without_a_length_gets_411_without_being_read(client):
    response = client.generic(
        "POST",
        LOGIN,
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": UnreadableInput()},
    )

    assert response.status_code == 411


def test_a_body_of_exactly_the_limit_passes():
    request = RequestFactory().post(LOGIN, data=b"", content_type="application/octet-stream")
    request.META["CONTENT_LENGTH"] = str(settings.MAX_REQUEST_BYTES)
    passed = HttpResponse("passed")

    response = RequestSizeLimitMiddleware(lambda request: passed)(request)

    assert response is passed


def test_a_get_passes():
    request = RequestFactory().get("/")
    passed = HttpResponse("passed")

    assert RequestSizeLimitMiddleware(lambda request: passed)(request) is passed


@pytest.mark.django_db
def test_the_largest_image_and_document_still_reach_the_view(client):
    # Two files at the upload limit in one multipart post: the middleware lets it through
    # and the view answers (the log-in page ignores the files).
    response = client.post(
        LOGIN,
        {
            "image": SimpleUploadedFile("bilde.png", b"0" * MAX_UPLOAD_BYTES),
            "file": SimpleUploadedFile("dokument.pdf", b"0" * MAX_UPLOAD_BYTES),
            "username": "nobody@example.org",
            "password": "wrong",
        },
    )

    assert response.status_code == 200
    assert response.wsgi_request.FILES["file"].size == MAX_UPLOAD_BYTES


@pytest.mark.django_db
def test_a_get_with_an_ordinary_page_is_unaffected(client):
    assert client.get(LOGIN).status_code == 200
