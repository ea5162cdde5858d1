"""The callback a connected service posts its later answer to (docs/connected-services.md)."""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import SIGNATURE_HEADER, CallbackRefused, service_call_callback_receive


@csrf_exempt
@require_POST
def callback(request, call_id):
    """Apply a signed callback; answer JSON: 200 when applied or ignored, 4xx when refused."""
    # An export may be larger than a form (DATA_UPLOAD_MAX_MEMORY_SIZE): read up to the answers' own limit.
    limit = settings.SERVICE_CALL_MAX_ANSWER_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"error": f"The body is longer than {limit} bytes."}, status=413)
    try:
        answer = service_call_callback_receive(
            call_id=call_id, body=body, signature=request.headers.get(SIGNATURE_HEADER, "")
        )
    except CallbackRefused as exc:
        return JsonResponse({"error": exc.reason}, status=exc.status)
    return JsonResponse(answer)
