"""Staff login for the desk: PBKDF2-SHA256 password hashes (stdlib only) and the check Gradio
calls at login.

Stored format: ``pbkdf2_sha256$<iterations>$<salt, urlsafe base64>$<hash, urlsafe base64>``
(the same shape Django uses), so an administrator can produce one with
``python -c "from ui.auth import hash_password; print(hash_password('...'))"`` until the CLI
has ``guichet staff-password``.

No staff configured: the desk still needs a login (it is never open). We then create the login
``accueil`` with a random password generated at start-up and printed once on the console
(stderr, never through ``logging``, so it does not land in log files). We chose this over a
documented demo password behind ``GUICHET_DEMO=1``: a published password is a standing
credential for anyone who reads the README, and a forgotten ``GUICHET_DEMO=1`` on a real server
opens the desk; a random one is only known to whoever started the process and dies with it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import sys
import threading
import time
from collections.abc import Callable

from assistant import messages as msg

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
DEMO_LOGIN = "accueil"
MAX_FAILURES = 5  # per login, within FAILURE_WINDOW_S; then that login is locked for a while
FAILURE_WINDOW_S = 300.0
LOCKOUT_S = 60.0


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; malformed hashes never match."""
    try:
        algorithm, iterations, salt, expected = stored.split("$")
        rounds = int(iterations)
        if algorithm != ALGORITHM or not 1 <= rounds <= 10_000_000:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), rounds)
        return hmac.compare_digest(digest, _unb64(expected))
    except (ValueError, TypeError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the login is unknown, so that the response time does not
    tell an attacker which logins exist."""
    return hash_password(secrets.token_urlsafe(16))


class StaffAuth:
    """The ``auth`` callable given to Gradio: ``(login, password) -> bool``.

    Counts failures per login and refuses every attempt for ``LOCKOUT_S`` after
    ``MAX_FAILURES`` failures, which, with PBKDF2's cost, makes guessing slow.
    """

    def __init__(self, users: dict[str, str], *, clock: Callable[[], float] = time.monotonic):
        self.users = dict(users)
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, login: str, password: str) -> bool:
        login = (login or "").strip()
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(login, []) if now - t < FAILURE_WINDOW_S]
            self._failures[login] = recent
            locked = len(recent) >= MAX_FAILURES and now - recent[-1] < LOCKOUT_S
        stored = self.users.get(login)
        ok = verify_password(password or "", stored or _dummy_hash()) and stored is not None
        if locked:
            return False
        with self._lock:
            if ok:
                self._failures.pop(login, None)
            else:
                self._failures.setdefault(login, []).append(now)
        return ok


def desk_auth(
    staff_users: dict[str, str], *, announce: Callable[[str], None] | None = None
) -> StaffAuth:
    """The desk's login check from settings; without any configured user, a one-run random
    password for ``accueil``, announced once on stderr."""
    if staff_users:
        return StaffAuth(staff_users)
    password = secrets.token_urlsafe(12)
    text = msg.DESK["demo_password"].format(login=DEMO_LOGIN, password=password)
    if announce is None:
        print(text, file=sys.stderr, flush=True)
    else:
        announce(text)
    return StaffAuth({DEMO_LOGIN: hash_password(password)})
