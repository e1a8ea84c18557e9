"""One confirmation step for actions that cannot be undone with a click (void, delete,
disconnect): the first request shows what will happen, here and in every connected system,
and only a POST carrying confirm=yes acts. No script is involved, so it works under a strict
Content-Security-Policy and without JavaScript."""

from dataclasses import dataclass, field

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"


@dataclass
class Confirmation:
    title: str
    question: str
    button: str
    cancel_url: str
    # What happens in the CRM, one sentence each.
    here: list[str] = field(default_factory=list)
    # What happens elsewhere: (where, [sentences]) per connected system.
    elsewhere: list[tuple[str, list[str]]] = field(default_factory=list)
    # Why it cannot be done now; the page then says so and offers no button.
    blocked: str = ""
    # What the action needs to be told (a reason, say), shown above the button.
    form: forms.Form | None = None


def confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "yes"


def confirmation_page(request: HttpRequest, confirmation: Confirmation) -> HttpResponse:
    """The page asking for confirmation; its form posts back to the same URL."""
    return render(request, "confirm.html", {"confirm": confirmation})
