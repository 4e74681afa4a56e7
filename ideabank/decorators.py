"""View decorators for rules more than one app's views share."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ideabank.models import email_confirmed


def confirmed_email_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only accounts with a confirmed e-mail address may use `view`: it reaches other people
    (a request, a message, a public claim), and they must be able to trust the address.

    Anonymous visitors are sent to log in. A signed-in account that has not confirmed its
    address gets a page saying why, with a button that sends the link again (403): the view
    never runs, so nothing is saved and nobody is mailed.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not email_confirmed(request.user):
            return render(request, "accounts/email_unconfirmed.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapper)
