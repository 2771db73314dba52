"""The desk's front door: login page, login and logout, session expiry (an ASGI middleware in
front of the Gradio app mounted at ``/desk``).

Gradio's own login runs the password check in the event loop (one PBKDF2 hash stalled every
request of the server for half a second), answers in English, accepts cross-site posts and
issues tokens that never expire. This gate answers ``POST /desk/login`` itself:

- the ``Origin`` (or ``Sec-Fetch-Site``) must be this site: no login CSRF;
- a rate limit per client address (slowapi's storage), then the lockout per (login, client)
  of :class:`ui.auth.StaffAuth`, whose hash runs in a bounded pool, off the event loop;
- on success it registers the session token with Gradio (``tokens``, read by Gradio's
  ``get_current_user``) and sets one cookie: ``HttpOnly``, ``SameSite=Strict``, path ``/desk``,
  ``Secure`` over https, with a maximum age;
- each request under ``/desk`` renews the idle deadline; past it or past the maximum age the
  token is withdrawn from Gradio, and the page asks to log in again.

Gradio reads the token from ``access-token-<id>`` or ``access-token-unsecure-<id>``; only the
second is set, so Gradio's ``/gradio_api/token`` (which hands ``access-token-<id>`` to any
same-origin script) has nothing to give; the gate also answers it with a 404.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlsplit

from limits import parse
from slowapi import Limiter
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.core import messages as msg
from assistant.core.logging_setup import mask_client
from ui.auth import StaffAuth

log = logging.getLogger("guichet.server")

D = msg.DESK
MAX_FORM_BYTES = 4096

LOGIN_CSS = (
    "body{font-family:system-ui,Arial,sans-serif;background:#f6f1e7;color:#1b1b1b;margin:0}"
    "main{max-width:24rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;"
    "border-radius:.5rem;box-shadow:0 1px 4px #0002}"
    "label{display:block;margin:.8rem 0 .2rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}"
    "button{margin-top:1.2rem;padding:.6rem 1rem;font-size:1rem;background:#17406d;color:#fff;"
    "border:0;border-radius:.3rem;cursor:pointer}"
    "button:focus-visible,input:focus-visible{outline:3px solid #b34700;outline-offset:2px}"
    ".error{color:#a00;font-weight:600}.info{color:#17406d}"
)
LOGIN_CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(LOGIN_CSS.encode()).digest()).decode()
# The login page needs no script at all.
LOGIN_CSP = (
    f"default-src 'none'; style-src '{LOGIN_CSS_HASH}'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


@dataclass
class Session:
    login: str
    created: float
    seen: float


class Sessions:
    """Desk sessions by token: a maximum age and an idle timeout, both checked on each use."""

    def __init__(
        self, max_age_s: float, idle_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age_s = max_age_s
        self.idle_s = idle_s
        self._clock = clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def add(self, token: str, login: str) -> list[str]:
        """Register ``token``; returns the tokens found expired meanwhile (to withdraw)."""
        now = self._clock()
        with self._lock:
            expired = [t for t, s in self._by_token.items() if not self._alive(s, now)]
            for t in expired:
                del self._by_token[t]
            self._by_token[token] = Session(login, now, now)
        return expired

    def touch(self, token: str) -> Session | None:
        """The live session of ``token`` (its idle deadline renewed), or None; an expired
        session is forgotten."""
        now = self._clock()
        with self._lock:
            session = self._by_token.get(token)
            if session is None:
                return None
            if not self._alive(session, now):
                del self._by_token[token]
                return None
            session.seen = now
            return session

    def remove(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def _alive(self, s: Session, now: float) -> bool:
        return now - s.created < self.max_age_s and now - s.seen < self.idle_s


def same_site(headers: Headers) -> bool:
    """A browser says where a form comes from (``Origin``, else ``Sec-Fetch-Site``); a client
    that says nothing is not a browser, and a login CSRF needs one."""
    origin = headers.get("origin")
    if origin == "null":
        # What Chromium sends for a same-origin form under "Referrer-Policy: no-referrer"
        # (the site's policy): then only an explicit Sec-Fetch-Site: same-origin vouches.
        return headers.get("sec-fetch-site") == "same-origin"
    if origin is not None:
        return urlsplit(origin).netloc == headers.get("host", "")
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def login_page(prefix: str, *, error: str = "", info: str = "") -> str:
    notice = ""
    if error:
        notice = f'<p class="error" role="alert">{escape(error)}</p>'
    elif info:
        notice = f'<p class="info" role="status">{escape(info)}</p>'
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(D['login_title'])}</title><style>{LOGIN_CSS}</style></head><body>"
        f"<main><h1>{escape(D['title'])}</h1><p>{escape(D['login_message'])}</p>{notice}"
        f'<form method="post" action="{escape(prefix)}/login">'
        f'<label for="username">{escape(D["login_user"])}</label>'
        '<input id="username" name="username" autocomplete="username" required autofocus>'
        f'<label for="password">{escape(D["login_password"])}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password"'
        " required>"
        f'<button type="submit">{escape(D["login_submit"])}</button></form></main></body></html>'
    )


class DeskGate:
    """ASGI middleware on the main app; everything outside ``prefix`` passes untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        auth: StaffAuth,
        sessions: Sessions,
        gradio: Callable[[], Any],
        limiter: Limiter,
        rate_limit: str,
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.auth = auth
        self.sessions = sessions
        self.gradio = gradio  # the mounted Gradio App (``tokens``, ``cookie_id``)
        self.limiter = limiter
        self.rate_limit = parse(rate_limit)

    # --- routing --------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        sub = path[len(self.prefix) :].rstrip("/")
        method = scope.get("method", "GET")
        if scope["type"] == "http" and sub == "/login" and method == "POST":
            response = await self.login(Request(scope, receive))
        elif scope["type"] == "http" and sub == "/logout":
            response = self.logout(Request(scope))
        elif sub in ("/gradio_api/token", "/token"):
            response = JSONResponse({"detail": msg.NOT_FOUND_HTTP}, status_code=404)
        else:
            token = HTTPConnection(scope).cookies.get(self._cookie_name())
            session = self.sessions.touch(token) if token is not None else None
            live = session is not None
            if token is not None and not live:
                self._withdraw(token)  # Gradio then answers 401 to its API calls
            if sub.startswith("/admin/"):  # ui/admin.py decides, by role, from the login
                scope.setdefault("state", {})["staff_login"] = session.login if session else None
            page = scope["type"] == "http" and method == "GET" and path == self.prefix + "/"
            if live or not page:
                await self.app(scope, receive, send)
                return
            info = D["login_expired"] if token is not None else ""
            response = self._page(info=info)
            if token is not None:
                self._clear_cookie(response)
        await response(scope, receive, send)

    # --- login / logout -------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        browser = "text/html" in request.headers.get("accept", "")
        if not same_site(request.headers):
            log.warning("desk login refused: cross-site form (%s)", request.headers.get("origin"))
            return self._refuse(browser, D["login_forbidden"], 403)
        client = request.client.host if request.client else ""
        if not self.limiter.limiter.hit(self.rate_limit, "desk-login", client):
            reset, _ = self.limiter.limiter.get_window_stats(self.rate_limit, "desk-login", client)
            seconds = max(1, int(reset - time.time()) + 1)
            log.warning("desk login rate limit exceeded for %s", mask_client(client))
            return self._refuse(
                browser,
                D["login_rate_limited"].format(seconds=seconds),
                429,
                {"Retry-After": str(seconds)},
            )
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            return self._refuse(browser, D["login_failed"], 413)
        try:
            form = await request.form(max_files=0, max_fields=8)
        except Exception:  # malformed multipart or urlencoded body
            return self._refuse(browser, D["login_failed"], 400)
        login = str(form.get("username") or "")[:200]
        password = str(form.get("password") or "")[:1024]
        result = await self.auth.verify(login, password, client)
        if result.busy:
            return self._refuse(browser, D["login_busy"], 503, {"Retry-After": "5"})
        if result.retry_after > 0:
            seconds = int(result.retry_after) + 1
            return self._refuse(
                browser,
                D["login_locked"].format(seconds=seconds),
                429,
                {"Retry-After": str(seconds)},
            )
        if not result.ok:
            return self._refuse(browser, D["login_failed"], 401)
        gradio = self.gradio()
        token = secrets.token_urlsafe(32)
        for old in self.sessions.add(token, login.strip()):
            gradio.tokens.pop(old, None)
        gradio.tokens[token] = login.strip()
        response: Response = (
            RedirectResponse(self.prefix + "/", status_code=303)
            if browser
            else JSONResponse({"success": True})
        )
        response.set_cookie(
            self._cookie_name(),
            token,
            max_age=int(self.sessions.max_age_s),
            path=self.prefix,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    def logout(self, request: Request) -> Response:
        # SameSite=Strict: a cross-site link arrives without the cookie, so it logs no one out.
        token = request.cookies.get(self._cookie_name())
        if token is not None:
            self._withdraw(token)
        response = self._page(info=D["logged_out"])
        self._clear_cookie(response)
        return response

    # --- helpers --------------------------------------------------------------------------
    def _cookie_name(self) -> str:
        return f"access-token-unsecure-{self.gradio().cookie_id}"

    def _withdraw(self, token: str) -> None:
        self.sessions.remove(token)
        self.gradio().tokens.pop(token, None)

    def _page(self, *, error: str = "", info: str = "", status: int = 200) -> Response:
        return HTMLResponse(
            login_page(self.prefix, error=error, info=info),
            status_code=status,
            headers={"Content-Security-Policy": LOGIN_CSP, "Cache-Control": "no-store"},
        )

    def _refuse(
        self, browser: bool, text: str, status: int, headers: dict[str, str] | None = None
    ) -> Response:
        if browser:
            response = self._page(error=text, status=status)
            response.headers.update(headers or {})
            return response
        return JSONResponse({"detail": text}, status_code=status, headers=headers)

    def _clear_cookie(self, response: Response) -> None:
        response.delete_cookie(self._cookie_name(), path=self.prefix)
