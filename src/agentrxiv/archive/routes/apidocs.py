"""Interactive API documentation served entirely by this server: Swagger UI at ``/docs`` and
ReDoc at ``/redoc``. Their JavaScript and CSS ship in the package's ``static`` folder
(Swagger UI 5.32.6 and ReDoc 2.5.3, licence notices alongside), so the pages work offline
and behind firewalls; nothing is fetched from a CDN.

Both pages carry their own Content-Security-Policy: scripts from this site only (no inline
script: Swagger UI starts from ``/static/swagger-init.js``), inline styles allowed because
both libraries set styles at run time, and requests only back to this server."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

OPENAPI_URL = "/openapi.json"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + OPENAPI_URL


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for the JSON API, from this server's own copy of its files."""
    title = escape(f"{request.app.title} API · Swagger UI")
    page = SWAGGER_PAGE.format(title=title, openapi_url=escape(_openapi_url(request)))
    return HTMLResponse(page, headers=DOCS_HEADERS)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc for the JSON API, from this server's own copy of its script."""
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} API · ReDoc",
        redoc_js_url="/static/redoc.standalone.js",
        redoc_favicon_url="data:,",
        with_google_fonts=False,
    )
    return HTMLResponse(page.body, headers=DOCS_HEADERS)
