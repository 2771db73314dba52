"""Log lines go through redaction; uvicorn's access lines carry no query string and no body."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time

import httpx
import pytest

from assistant.core.logging_setup import RedactFilter, mask_client, setup_logging


@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handler = setup_logging("INFO", "plain", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.handlers[:], root.level = saved[0], saved[1]  # type: ignore[misc]


def test_message_and_arguments_are_redacted(captured):
    log = logging.getLogger("guichet.test")
    log.info("question de %s : %s", "Mme Lucie Perrin", "rappelez-moi au 06 12 48 93 27")
    log.warning("mail %s, NIR %s", "claire.vidal34@orange.fr", "1 85 05 78 006 084 91")
    out = captured.getvalue()
    assert "Perrin" not in out and "06 12 48" not in out and "claire" not in out
    assert "185" not in out.replace(" ", "")
    assert "[NOM]" in out and "[TÉLÉPHONE]" in out and "[EMAIL]" in out and "[NIR]" in out


def test_tracebacks_are_redacted(captured):
    log = logging.getLogger("guichet.test")
    try:
        raise ValueError("IBAN refusé : FR76 2061 1197 7287 5950 9991 874")
    except ValueError:
        log.exception("échec pour jb.rouquette@gmail.com")
    out = captured.getvalue()
    assert "Traceback" in out and "ValueError" in out
    assert "FR76" not in out and "rouquette" not in out
    assert "[IBAN]" in out and "[EMAIL]" in out


def test_bad_format_string_does_not_leak_arguments(captured):
    logging.getLogger("guichet.test").info("oops %d", "06 12 48 93 27")
    assert "06 12 48" not in captured.getvalue()


def test_json_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = setup_logging("INFO", "json", stream=stream)
    try:
        logging.getLogger("guichet.test").info("tél %s", "+33 6 45 18 72 09")
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["message"] == "tél [TÉLÉPHONE]"
    assert entry["level"] == "INFO" and entry["logger"] == "guichet.test" and entry["time"]


def test_setup_is_idempotent():
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        setup_logging(stream=io.StringIO())
        setup_logging(stream=io.StringIO())
        assert sum(1 for h in root.handlers if getattr(h, "_guichet_handler", False)) == 1
    finally:
        root.handlers[:] = saved


def test_client_address_is_masked():
    assert mask_client("203.0.113.45:51234") == "203.0.113.0/24"
    assert mask_client("2001:db8:1:2::7") == "2001:db8:1::/48"
    assert mask_client("testclient") == "testclient"


def test_filter_applies_once_even_with_two_handlers():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s", ("06 12 48 93 27",), None)
    f = RedactFilter()
    f.filter(record)
    f.filter(record)
    assert record.getMessage() == "a [TÉLÉPHONE]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_uvicorn_access_log_has_no_query_string_nor_body(captured):
    """A real uvicorn on loopback, configured as ``guichet serve`` should be (log_config=None)."""
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/ask?q=secret-question&mail=claire.vidal34@orange.fr",
            json={"question": "je suis Fatima Ouali, 06 12 48 93 27"},
            timeout=5,
        )
        assert response.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    out = captured.getvalue()
    access = [line for line in out.splitlines() if "uvicorn.access" in line]
    assert access, out
    assert '"POST /api/v1/ask HTTP/1.1" 200' in access[0]
    assert "127.0.0.0/24" in access[0]
    for secret in ("secret-question", "claire", "Ouali", "06 12 48", "?"):
        assert secret not in out
