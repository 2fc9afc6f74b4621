"""Security headers on every answer, and the API's documentation pages under a strict policy.

- `X-Content-Type-Options: nosniff` everywhere: a browser never runs an answer (a JSON error
  echoing a title, say) as a script or a page.
- `Cache-Control: no-store` on /v1/auth/*: tokens and challenges stay out of caches and history.
- HTML answers carry a Content-Security-Policy with no 'unsafe-inline' and no 'unsafe-eval'. The
  docs pages are FastAPI's, which load Swagger UI and ReDoc from jsDelivr (until the web register
  serves them locally): their one inline script or style is allowed by its SHA-256, the CDN by
  its origin. Any other HTML gets `default-src 'none'`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
#: Any HTML answer without a policy of its own: nothing loads, nothing runs, no framing.
STRICT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_CDN = "https://cdn.jsdelivr.net"
_FAVICON = "https://fastapi.tiangolo.com"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


class SecurityHeaders:
    """Adds the headers above to every answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = str(scope["path"]).startswith("/v1/auth/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if auth and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                html = any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                    for name, value in headers
                )
                if html and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", STRICT_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """/docs (Swagger UI) and /redoc, as FastAPI serves them, each with its own policy."""
    swagger = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - Swagger UI")
    redoc = get_redoc_html(
        openapi_url=openapi_url, title=f"{app.title} - ReDoc", with_google_fonts=False
    )
    pages = {"/docs": _with_policy(swagger), "/redoc": _with_policy(redoc)}

    for path, (page, policy) in pages.items():

        def serve(page: bytes = page, policy: str = policy) -> HTMLResponse:
            return HTMLResponse(page, headers={"Content-Security-Policy": policy})

        app.add_api_route(path, serve, methods=["GET"], include_in_schema=False)


def _with_policy(page: HTMLResponse) -> tuple[bytes, str]:
    """The page and a policy allowing exactly its own inline blocks and the CDN."""
    html = bytes(page.body)
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, content in _INLINE.findall(html.decode()):
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    policy = "; ".join(
        (
            "default-src 'none'",
            " ".join(["script-src", _CDN, *hashes["script"]]),
            " ".join(["style-src", _CDN, *hashes["style"]]),
            f"img-src 'self' data: {_FAVICON}",
            "connect-src 'self'",
            "worker-src blob:",  # ReDoc searches in a worker made from a blob
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return html, policy
