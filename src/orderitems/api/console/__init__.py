"""The browser console at ``/``: pages that drive the admin API (api/admin.py) from a browser.

Each page is a template filled in by ``static/console.js`` from ``/_sandbox/...`` answers, so
the console has no path to the data of its own. It exists in sandbox and demo mode, and
read-only with ``--console``; otherwise its paths are ordinary 404s (api/app.py). The session
is the admin token in a ``Secure``, ``HttpOnly``, ``SameSite=Strict`` cookie, checked by the
admin API's one check; every state-changing request made with that cookie must also carry the
page's CSRF token and come from the console's own origin (docs/behaviour.md#admin-token).
"""

from __future__ import annotations

import hashlib
import hmac
from importlib import resources
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import Response

from orderitems.api.admin import Admin
from orderitems.domain.errors import Forbidden, NotFound, PayloadTooLarge, Unauthenticated
from orderitems.settings import Settings

COOKIE = "orderitems_admin"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The login form holds one token: a longer body is refused unread (413).
LOGIN_BODY_LIMIT = 4096
#: Path, template and title of each page.
PAGES = {
    "/": ("start.html", "Start"),
    "/console/log": ("log.html", "Request log"),
    "/console/traffic": ("traffic.html", "Traffic"),
    "/console/data": ("data.html", "Data"),
    "/console/sandbox": ("sandbox.html", "Faults and clock"),
}
STATIC_TYPES = {"console.js": "text/javascript", "console.css": "text/css"}
#: Everything a page loads comes from the server itself; nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Console:
    """The console of one server process; ``admin`` is its admin API, whose gate it widens."""

    def __init__(self, settings: Settings, admin: Admin) -> None:
        self.settings = settings
        self.admin = admin
        admin.gate = self.authorise
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("orderitems.api.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.static: dict[str, bytes] = {}

    @staticmethod
    def serves(path: str) -> bool:
        """``/`` and ``/console/...``; every other path stays the API's."""
        return path in ("/", "/console") or path.startswith("/console/")

    def csrf_token(self) -> str:
        """Derived from the admin token, so every server process agrees on it."""
        key = (self.admin.token or "").encode()
        return hmac.new(key, b"orderitems console csrf", hashlib.sha256).hexdigest()

    def same_origin(self, request: Request) -> None:
        """Refuse a request a browser says came from another site (Origin, Sec-Fetch-Site)."""
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        site = request.headers.get("sec-fetch-site")
        if (origin is not None and origin != own) or site not in (None, "same-origin", "none"):
            raise Forbidden("Cross-site request refused: the console accepts its own pages only.")

    def authorise(self, request: Request) -> None:
        """The admin API's gate: the bearer header, or the session cookie with, on a change,
        the page's CSRF token from the console's own origin."""
        if "authorization" in request.headers:
            self.admin.authorise(request)
            return
        self.admin.check_token(request.cookies.get(COOKIE))
        if request.method not in SAFE_METHODS:
            self.same_origin(request)
            given = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.csrf_token().encode()):
                raise Forbidden("Cross-site request refused: the CSRF token is missing or wrong.")

    def signed_in(self, request: Request) -> bool:
        try:
            self.authorise(request)
        except (Unauthenticated, Forbidden):
            return False
        return True

    async def respond(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/console/static/") and request.method in SAFE_METHODS:
            return self.asset(path.removeprefix("/console/static/"))
        if path == "/console/login" and request.method == "POST":
            return await self.login(request)
        if path == "/console/logout" and request.method == "POST":
            self.authorise(request)
            response = Response(status_code=204)
            response.delete_cookie(COOKIE, secure=True, httponly=True, samesite="strict")
            return response
        if path == "/console":
            path = "/"
        if path not in PAGES or request.method not in SAFE_METHODS:
            raise NotFound(f"No operation {request.method} {request.url.path}.")
        if not self.signed_in(request):
            return self.page("login.html", "Sign in", status=401)
        template, title = PAGES[path]
        return self.page(template, title, path=path)

    def page(self, template: str, title: str, *, status: int = 200, path: str = "") -> Response:
        html = self.templates.get_template(template).render(
            title=title,
            path=path,
            pages=[(href, name) for href, (_, name) in PAGES.items()],
            csrf=self.csrf_token() if status == 200 and template != "login.html" else "",
            read_only=self.admin.read_only,
            error="Wrong admin token." if status == 401 and path == "login" else "",
        )
        response = Response(html, status_code=status, media_type="text/html")
        response.headers.update(SECURITY_HEADERS)
        return response

    def asset(self, name: str) -> Response:
        media_type = STATIC_TYPES.get(name)
        if media_type is None:
            raise NotFound(f"No console file {name!r}.")
        if name not in self.static:
            files = resources.files("orderitems.api.console").joinpath("static", name)
            self.static[name] = files.read_bytes()
        response = Response(self.static[name], media_type=media_type)
        response.headers.update({"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
        return response

    async def login(self, request: Request) -> Response:
        """The login form: the admin token, checked by the admin API's check, into the cookie."""
        self.same_origin(request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > LOGIN_BODY_LIMIT:
                raise PayloadTooLarge(f"The login form is larger than {LOGIN_BODY_LIMIT} bytes.")
        form = parse_qs(body.decode("utf-8", errors="replace"))
        token = form.get("token", [""])[0].strip()
        try:
            self.admin.check_token(token)
        except Unauthenticated:
            return self.page("login.html", "Sign in", status=401, path="login")
        response = Response(status_code=303, headers={"Location": "/"})
        response.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="strict")
        return response
