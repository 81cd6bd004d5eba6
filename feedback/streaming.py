"""Server-sent events for both chat APIs, matched to the server (a mismatch makes Django buffer the whole stream).

Under WSGI (gunicorn gthread, runserver, the test live server) a sync generator streams, holding its thread for
the length of the reply. Under ASGI (gunicorn with uvicorn workers) the response iterates asynchronously: relayed
from a gpu worker through Redis when FEEDBACK_STREAM_REDIS_URL is set, so a stream holds no thread while it waits;
without Redis the in-process generator is advanced in Django's thread for sync code, one piece at a time.
"""

from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse

from feedback.models import Conversation, Message
from feedback.services.chat import reply_stream
from feedback.services.relay import reply_relay_events, reply_relay_start


def _asgi(request) -> bool:
    return isinstance(request._request, ASGIRequest)  # DRF's Request wraps Django's


def reply_events(request, *, conversation: Conversation, parent: Message, values: dict):
    """The ("token" | "done" | "error", data) events of one reply, sync or async as the server wants them."""
    if _asgi(request) and settings.FEEDBACK_STREAM_REDIS_URL:
        return reply_relay_events(key=reply_relay_start(conversation=conversation, parent=parent, values=values))
    return reply_stream(conversation=conversation, parent=parent, values=values)


async def _in_thread(events):
    end = object()
    advance = sync_to_async(next)  # thread-sensitive: the thread where this process runs its sync code
    while (item := await advance(events, end)) is not end:
        yield item


def sse_response(request, events, render: Callable[[str, object], str], *, status: int = 200,
                 headers: dict | None = None) -> StreamingHttpResponse:
    """`render(event, data)` makes the text of each event, and of "start" and "end" around them."""
    if _asgi(request) and not hasattr(events, "__aiter__"):
        events = _in_thread(events)
    if hasattr(events, "__aiter__"):
        async def body():
            yield render("start", None)
            async for event, data in events:
                yield render(event, data)
            yield render("end", None)
    else:
        def body():
            yield render("start", None)
            for event, data in events:
                yield render(event, data)
            yield render("end", None)
    response = StreamingHttpResponse(body(), content_type="text/event-stream", status=status, headers=headers)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
