"""The live corpus (issue 18): answers while the server ingests, and an upload's way to the
first answer citing it. The default model on a fresh copy of the demo corpus, through the
server's own state (``ui.state.AppState``: its queue, job worker and polite embedder).

- answer latency p50/p95 idle, then during an ingest job whose embedder steps aside for
  answers (``ui.jobs.PoliteEmbedder``), then during the same job not stepping aside; each job
  ingests the demo pages again under new names;
- upload → indexed → first answer citing the new document (a page no other document answers).

    guichet bench live [--questions 6]      # this part only, the rest of BENCHMARKS.md kept

Run it on a quiet machine: on a shared one the other processes weigh as much as the ingest,
so the load average before and after is kept with the figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings
from evals.bench.common import DEMO, pct

QUESTIONS = [
    "Quels sont les horaires de la piscine municipale ?",
    "Combien coûte l'entrée adulte à la piscine ?",
    "Quels sont les horaires de la médiathèque ?",
    "Comment obtenir un acte de naissance ?",
    "Quand passent les encombrants ?",
    "Comment inscrire mon enfant à la cantine ?",
    "Quels sont les horaires de la déchetterie ?",
    "Comment louer une salle municipale ?",
    "Quel est le numéro de téléphone de la mairie ?",
    "Comment faire une carte d'identité ?",
    "Où se trouve la police municipale ?",
    "Comment s'inscrire sur les listes électorales ?",
    "Quels sont les tarifs de la cantine ?",
    "Comment se passe le recensement citoyen ?",
    "Où garer ma voiture en centre-ville ?",
]
UPLOAD_NAME = "ludotheque.md"
UPLOAD_QUESTION = "Quels sont les horaires de la ludothèque ?"
UPLOAD_PAGE = (
    "# Ludothèque municipale\n\n"
    "La ludothèque municipale prête des jeux de société aux habitants de la commune.\n\n"
    "## Horaires de la ludothèque\n\n"
    "- Mardi : de 16 h à 19 h.\n"
    "- Samedi : de 10 h à 12 h 30.\n"
)
PHASES = ("idle", "polite", "not_yielding")


def summarise(latencies: dict[str, list[float]]) -> dict[str, Any]:
    """p50/p95 and count of each phase's answer times (seconds)."""
    out: dict[str, Any] = {}
    for phase, values in latencies.items():
        out[f"{phase}_n"] = len(values)
        out[f"{phase}_p50_s"] = round(pct(values, 50), 2)
        out[f"{phase}_p95_s"] = round(pct(values, 95), 2)
    return out


def _copies(folder: Path, tag: str, pages: int | None = None) -> Path:
    """The demo pages under new names and titles: a job with real work, nothing unchanged."""
    folder.mkdir(parents=True)
    for page in sorted(DEMO.glob("*.md"))[:pages]:
        text = page.read_text(encoding="utf-8").replace("# ", f"# ({tag}) ", 1)
        (folder / f"{tag}-{page.name}").write_text(text, encoding="utf-8")
    return folder


def bench_live(
    settings_factory: Callable[[str], Settings], per_phase: int = 6, pages: int | None = None
) -> dict:
    """The figures of the part; ``pages`` limits each job to the first demo pages (tests)."""
    from assistant.core.answer import DoneEvent
    from ingest.pipeline import ingest
    from ui.state import AppState

    settings = settings_factory("live").model_copy(update={"redact_names": False})
    data = settings.paths.data_dir
    ingest([DEMO], settings, progress=False)
    state = AppState(settings)
    state.load()
    state.jobs.start()
    questions = iter(QUESTIONS * 4)

    def ask(question: str) -> tuple[float, Any]:
        started = time.perf_counter()
        answer = None
        for item in state.ask_events(question, channel="bench"):
            if isinstance(item, DoneEvent):
                answer = item.answer
        return time.perf_counter() - started, answer

    ask("Bonjour, quels services propose la mairie ?")  # model and caches warm
    figures: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "load_before": os.getloadavg()}
    latencies: dict[str, list[float]] = {
        "idle": [ask(next(questions))[0] for _ in range(per_phase)]
    }
    polite = state.jobs.busy
    for phase, busy in (("polite", polite), ("not_yielding", lambda: False)):
        state.jobs.busy = busy
        folder = _copies(data / f"copie-{phase}", phase, pages)
        job = state.documents.ingest([folder], "bench", any_path=True)
        while job.status == "queued":
            time.sleep(0.05)
        latencies[phase] = []
        while job.pending and len(latencies[phase]) < per_phase:
            latencies[phase].append(ask(next(questions))[0])
        state.jobs.wait_idle(3600)
        figures[f"{phase}_job_s"] = job.seconds
        figures[f"{phase}_yielded_s"] = round(job.yielded_s, 1)
        figures[f"{phase}_passages"] = job.passages
    state.jobs.busy = polite
    figures |= summarise(latencies)
    figures["latencies_s"] = {k: [round(v, 2) for v in vs] for k, vs in latencies.items()}
    figures |= _upload_to_answer(state, data, ask)
    figures["load_after"] = os.getloadavg()
    figures["model"] = settings.gguf_path.name
    state.jobs.stop()
    return figures


def _upload_to_answer(state: Any, data: Path, ask: Callable[[str], tuple[float, Any]]) -> dict:
    """Upload a page through the server's document service (as the desk and the admin route
    do), wait for its job, ask the question only it answers."""
    source = data / "upload-source.md"
    source.write_text(UPLOAD_PAGE, encoding="utf-8")
    started = time.perf_counter()
    job, refused = state.documents.upload([(source, UPLOAD_NAME)], "bench")
    if job is None:
        raise RuntimeError(f"upload refused: {refused}")
    state.jobs.wait_idle(600)
    indexed_s = time.perf_counter() - started
    answer_s, answer = ask(UPLOAD_QUESTION)
    cited = bool(answer) and any(s.doc_id.endswith(UPLOAD_NAME) for s in answer.sources)
    return {
        "upload_job": job.status,
        "upload_to_indexed_s": round(indexed_s, 2),
        "upload_answer_s": round(answer_s, 2),
        "upload_to_first_citing_answer_s": round(indexed_s + answer_s, 2),
        "upload_cited": cited,
        "upload_verdict": getattr(getattr(answer, "verdict", None), "value", None),
    }


def render(live: dict | None) -> list[str]:
    """The *Live corpus* section of BENCHMARKS.md."""
    lines = ["", "## Live corpus (`guichet bench live`)", ""]
    if not live:
        return [
            *lines,
            "Not measured in this run: `guichet bench live` measures it (default model, a few "
            "minutes; run it on a quiet machine).",
        ]
    before, after = live["load_before"][0], live["load_after"][0]
    lines += [
        f"Measured {live.get('date', '?')} with {live['model']}, load average {before:.1f} "
        f"before and {after:.1f} after (other processes count as much as the ingest). Each "
        "ingest job re-ingests the 25 demo pages under new names while questions are asked.",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for phase, label in (
        ("idle", "answer p50 / p95, no ingest"),
        ("polite", "answer p50 / p95 during an ingest that steps aside"),
        ("not_yielding", "answer p50 / p95 during the same ingest not stepping aside"),
    ):
        lines.append(
            f"| {label} ({live[f'{phase}_n']} questions) | "
            f"{live[f'{phase}_p50_s']:.1f} / {live[f'{phase}_p95_s']:.1f} s |"
        )
    for phase, label in (("polite", "stepping aside"), ("not_yielding", "not stepping aside")):
        lines.append(
            f"| that ingest ({live[f'{phase}_passages']} passages), {label} | "
            f"{live[f'{phase}_job_s']:.0f} s (waited {live[f'{phase}_yielded_s']:.0f} s "
            "for answers) |"
        )
    cited = "cites it" if live["upload_cited"] else "**does not cite it**"
    lines += [
        f"| upload → indexed (one Markdown page) | {live['upload_to_indexed_s']:.1f} s |",
        f"| upload → first answer citing it | {live['upload_to_first_citing_answer_s']:.1f} s "
        f"(the answer {live['upload_answer_s']:.1f} s; {live['upload_verdict']}, {cited}) |",
    ]
    return lines
