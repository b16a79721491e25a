"""HEAD wherever GET works: an ASGI middleware that answers a HEAD request by running the
GET route and sending its status and headers (``Content-Length`` included) without the body.

FastAPI registers ``@router.get`` routes for GET only, so without this every HEAD request
(link checkers, feed readers, ``curl -I``) got 405."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Route HEAD as GET and drop the response body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything but HTTP HEAD through unchanged."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: nothing of it goes out, the end does
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
