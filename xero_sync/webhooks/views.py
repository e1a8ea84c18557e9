"""Xero's webhook endpoint (one fixed URL for every account)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from platform_crm.queueing import enqueue_on_commit

from .store import PROCESS_TASK, delivery_store
from .verify import signature_valid


@csrf_exempt
@require_POST
def xero_webhook(request: HttpRequest) -> HttpResponse:
    """401 when the signature is wrong (nothing kept), else the delivery is stored and 200 with
    an empty body goes back at once; the work happens in a task."""
    body = request.body
    if not signature_valid(body, request.headers.get("x-xero-signature", "")):
        return HttpResponse(status=401)
    delivery = delivery_store(body)
    enqueue_on_commit(PROCESS_TASK, delivery.pk)
    response = HttpResponse(status=200)
    del response["Content-Type"]
    return response
