"""``guichet ingest`` while ``guichet serve`` runs on the same data folder: hand the job over.

Qdrant's local mode locks its folder, so a second process cannot write the index. ``serve``
writes ``data_dir/serve.json`` (owner-only, 0600): its pid, address, Qdrant folder and a
random token of this run. ``guichet ingest`` finds it, checks that the process is alive and
answers, and posts the paths to the server's admin route with that token; the server's job
worker ingests them between answers, and the command prints the job's progress and report.
Whoever can read the data folder could write the index anyway: the token gives no more.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import messages as msg
from assistant.core.settings import Settings

DOC = msg.DOCUMENTS
RECORD = "serve.json"
POLL_S = 1.0


@dataclass(frozen=True)
class RunningServer:
    url: str
    token: str
    pid: int


def record_path(settings: Settings) -> Path:
    return settings.paths.data_dir / RECORD


def write_record(settings: Settings, host: str, port: int, token: str) -> Path:
    """Written by ``guichet serve`` once it knows its address; removed at exit."""
    path = record_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    local = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    payload = {
        "pid": os.getpid(),
        "url": f"http://{local}:{port}",
        "token": token,
        "qdrant": str(settings.qdrant_folder.resolve()),
    }
    tmp = path.with_name(RECORD + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)
    return path


def remove_record(settings: Settings, token: str) -> None:
    """Remove the record if it is still ours (a newer server may have replaced it)."""
    path = record_path(settings)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("token") == token:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def running_server(settings: Settings) -> RunningServer | None:
    """The server that owns this data folder's Qdrant folder, if one runs and answers."""
    if settings.index.qdrant_url:
        return None  # a Qdrant server takes writers from any process
    try:
        data = json.loads(record_path(settings).read_text(encoding="utf-8"))
        pid, url, token = int(data["pid"]), str(data["url"]), str(data["token"])
        folder = str(data["qdrant"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if folder != str(settings.qdrant_folder.resolve()) or pid == os.getpid() or not _alive(pid):
        return None
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            if response.status != 200:
                return None
    except (OSError, urllib.error.URLError):
        return None
    return RunningServer(url, token, pid)


def call(
    server: RunningServer, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read().decode("utf-8")))
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read().decode("utf-8")).get("detail", "")
        except ValueError:
            detail = ""
        raise RuntimeError(detail or f"HTTP {exc.code}") from exc


def hand_over(
    server: RunningServer,
    paths: list[Path],
    *,
    collection: str | None,
    prune: bool,
    json_out: bool,
    timeout_s: float = 24 * 3600,
) -> int:
    """Post the ingest to ``server`` and follow it; returns the command's exit code."""
    print(DOC["handoff"].format(url=server.url, pid=server.pid), file=sys.stderr)
    body = {"paths": [str(p.resolve()) for p in paths], "prune": prune, "collection": collection}
    try:
        job = call(server, "POST", "/desk/admin/ingest", body)
        deadline = time.monotonic() + timeout_s
        shown = -1
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            if job["passages"] != shown and sys.stderr.isatty():
                line = f"\r{job['status_text']} · {job['passages']} passages"
                print(line, end="", file=sys.stderr)
                shown = job["passages"]
            time.sleep(POLL_S)
            job = call(server, "GET", f"/desk/admin/jobs/{job['id']}")
    except (RuntimeError, OSError, KeyError) as exc:
        print(DOC["handoff_failed"].format(error=exc), file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if json_out:
        print(json.dumps(job, ensure_ascii=False, indent=1))
    else:
        for doc_id, reason in job.get("failures", []):
            print(f"  échec  {doc_id} : {reason}")
        print(job.get("summary") or job.get("error") or job["status_text"])
    return 0 if job["status"] == "done" else 1
