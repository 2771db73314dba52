"""Application logging with personal data removed before any line is written.

``setup_logging()`` puts one handler on the root logger; its :class:`RedactFilter` runs on every
record that reaches it (guichet's, uvicorn's, libraries'): the message is formatted with its
arguments, then passed through :func:`assistant.records.redact.redact`, and so are tracebacks.
uvicorn's access lines keep the method, the path without its query string, the status, and the
client address with its last byte masked, like every address in the other lines; request bodies
are never logged.

Serve with ``uvicorn.run(..., log_config=None)`` so that uvicorn does not install its own
handlers and its records reach this one. ``GUICHET_LOG_FORMAT=json`` for one JSON object per
line (for a log collector), ``plain`` otherwise; ``GUICHET_LOG_LEVEL`` (INFO).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from assistant.records.redact import redact

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_MARK = "_guichet_handler"
ACCESS_LOGGER = "uvicorn.access"


def mask_client(address: str) -> str:
    """An IP address is personal data: keep the network, drop the host (x.y.z.0, /48 for v6)."""
    host = address.rpartition(":")[0] if address.count(":") == 1 else address  # drop a port
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 48
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return f"{network.network_address}/{prefix}"


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def mask_addresses(text: str) -> str:
    """Every IP address in a line cut like the access lines' (slowapi's rate-limit warning,
    a library's connection error): x.y.z.0/24, /48 for v6."""

    def cut(m: re.Match[str]) -> str:
        try:
            ipaddress.ip_address(m.group())
        except ValueError:  # a time, a version, a MAC-like token: not an address
            return m.group()
        return mask_client(m.group())

    return _IPV6.sub(cut, _IPV4.sub(cut, text))


def _access_message(args: tuple[Any, ...]) -> str:
    """uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with (client, method, path?query, version,
    status): the query string may carry a question or an e-mail, the client is an address."""
    client, method, full_path, version, status = args
    path = str(full_path).split("?", 1)[0]
    path = redact(path, names=False)
    return f'{mask_client(str(client))} - "{method} {path} HTTP/{version}" {status}'


class RedactFilter(logging.Filter):
    """Replace a record's message (with its arguments applied) and traceback by redacted text.

    ``names``: also run the spaCy name recogniser (≈30 ms a line); off by default for logs,
    where titles and cues ("Mme …", "je m'appelle …") are still caught by the fast path.
    """

    def __init__(self, names: bool = False) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_guichet_redacted", False):
            return True
        if (
            record.name == ACCESS_LOGGER
            and isinstance(record.args, tuple)
            and len(record.args) == 5
        ):
            message = _access_message(record.args)
        else:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not hide the line, nor leak args
                message = str(record.msg)
            message = mask_addresses(redact(message, names=self.names))
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, names=self.names)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, names=self.names)
        record._guichet_redacted = True
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    level: str | int | None = None,
    fmt: str | None = None,
    *,
    names: bool = False,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install (or replace) guichet's redacting handler on the root logger; idempotent.

    uvicorn's and gradio's loggers are made to propagate here instead of writing on their own.
    """
    level = level or os.environ.get("GUICHET_LOG_LEVEL", "INFO")
    fmt = (fmt or os.environ.get("GUICHET_LOG_FORMAT", "plain")).lower()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactFilter(names=names))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN_FORMAT))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", ACCESS_LOGGER, "gradio", "httpx"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    # httpx logs every request URL at INFO (query strings included): keep it for warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler
