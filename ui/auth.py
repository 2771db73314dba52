"""Staff login for the desk: PBKDF2-SHA256 password hashes (stdlib only) and the check Gradio
calls at login.

Stored format: ``pbkdf2_sha256$<iterations>$<salt, urlsafe base64>$<hash, urlsafe base64>``
(the same shape Django uses), so an administrator can produce one with
``python -c "from ui.auth import hash_password; print(hash_password('...'))"`` until the CLI
has ``guichet staff-password``.

No staff configured: the desk still needs a login (it is never open). We then create the login
``accueil`` with a random password generated at start-up, shown once on the terminal when
stderr is one; otherwise (``guichet serve 2>&1 | tee server.log``, a service manager) it is
written to a file readable by its owner only, in the data folder, and only that file's path is
logged. We chose this over a
documented demo password behind ``GUICHET_DEMO=1``: a published password is a standing
credential for anyone who reads the README, and a forgotten ``GUICHET_DEMO=1`` on a real server
opens the desk; a random one is only known to whoever started the process and dies with it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.core import messages as msg

log = logging.getLogger("guichet.server")

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
DEMO_LOGIN = "accueil"
# Lockout per (login, client address): after MAX_FAILURES failures within FAILURE_WINDOW_S,
# that pair waits LOCKOUT_S, doubled at each further failure, up to MAX_LOCKOUT_S. Counting per
# login alone let anyone lock the counter staff out of their desk from elsewhere.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 3600.0
LOCKOUT_S = 60.0
MAX_LOCKOUT_S = 3600.0
MAX_TRACKED = 10_000  # (login, client) pairs remembered; the oldest are forgotten first
# PBKDF2 costs ~0.5 s of CPU: hashes run in a small pool of their own, never in the event loop,
# and beyond MAX_PENDING waiting checks a login is refused at once rather than queued.
HASH_WORKERS = 2
MAX_PENDING = 16
PASSWORD_FILE = "desk-password.txt"


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


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    retry_after: float = 0.0  # > 0: this (login, client) is locked for that many seconds
    busy: bool = False  # too many checks in flight: try again shortly


class StaffAuth:
    """Checks staff passwords, with a lockout per (login, client address).

    ``check`` is the blocking form (PBKDF2 in the calling thread); the desk's login route uses
    ``verify``, which runs the hash in a bounded pool of its own. An unknown login costs the
    same hash as a known one, so timing does not tell which logins exist.
    """

    def __init__(self, users: dict[str, str], *, clock: Callable[[], float] = time.monotonic):
        self.users = dict(users)
        self._clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="guichet-pbkdf2")
        self._pending = 0

    def __call__(self, login: str, password: str, client: str = "") -> bool:
        return self.check(login, password, client).ok

    def locked_for(self, login: str, client: str = "") -> float:
        """Seconds this (login, client) pair must still wait; 0 when it may try."""
        now = self._clock()
        with self._lock:
            return self._locked_for((login.strip(), client), now)

    def _locked_for(self, key: tuple[str, str], now: float) -> float:
        recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        if len(recent) < MAX_FAILURES:
            return 0.0
        delay = min(LOCKOUT_S * 2 ** (len(recent) - MAX_FAILURES), MAX_LOCKOUT_S)
        return max(0.0, recent[-1] + delay - now)

    def check(self, login: str, password: str, client: str = "") -> LoginResult:
        login = (login or "").strip()
        key = (login, client)
        now = self._clock()
        with self._lock:
            wait = self._locked_for(key, now)
        if wait > 0:  # refused without hashing: a locked pair costs no CPU
            return LoginResult(False, retry_after=wait)
        stored = self.users.get(login)
        ok = verify_password(password or "", stored or _dummy_hash()) and stored is not None
        with self._lock:
            if ok:
                self._failures.pop(key, None)
            else:
                self._failures.setdefault(key, []).append(now)
                if len(self._failures) > MAX_TRACKED:
                    oldest = min(self._failures, key=lambda k: self._failures[k][-1])
                    del self._failures[oldest]
        return LoginResult(ok)

    async def verify(self, login: str, password: str, client: str) -> LoginResult:
        """``check`` off the event loop; refused at once when too many are in flight."""
        with self._lock:
            if self._pending >= MAX_PENDING:
                return LoginResult(False, busy=True)
            self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self.check, login, password, client)
        finally:
            with self._lock:
                self._pending -= 1


def write_password_file(folder: Path, text: str) -> Path:
    """``text`` in ``folder``/desk-password.txt, created readable by its owner only (0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PASSWORD_FILE
    path.unlink(missing_ok=True)  # a file left by another user or mode: start afresh
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return path


def desk_auth(
    staff_users: dict[str, str],
    *,
    announce: Callable[[str], None] | None = None,
    data_dir: Path | None = None,
) -> StaffAuth:
    """The desk's login check from settings; without any configured user, a one-run random
    password for ``accueil``: on the terminal if stderr is one, else in a 0600 file of
    ``data_dir`` whose path (not the password) is logged."""
    if staff_users:
        return StaffAuth(staff_users)
    password = secrets.token_urlsafe(12)
    text = msg.DESK["demo_password"].format(login=DEMO_LOGIN, password=password)
    if announce is not None:
        announce(text)
    elif sys.stderr is not None and sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)
    else:
        path = write_password_file(data_dir or Path.cwd(), text)
        log.warning(msg.DESK["demo_password_file"].format(login=DEMO_LOGIN, path=path))
    return StaffAuth({DEMO_LOGIN: hash_password(password)})
