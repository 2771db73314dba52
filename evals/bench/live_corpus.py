"""Answer latency while the server ingests (issue 18): idle, during an ingest job whose
embedder steps aside for answers (``ui.jobs.PoliteEmbedder``), and during the same job without
stepping aside. The default model on a fresh copy of the demo corpus; each job ingests the 25
demo pages again under new names (164 passages).

    python -m evals.bench.live_corpus [DATA_DIR]

Prints JSON; the figures go to BENCHMARKS.md (*Live corpus*) by hand, with the load average,
because on a shared machine the other processes weigh as much as the ingest.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant.core.offline import enforce_offline

enforce_offline()

from assistant.core.settings import Settings, get_settings  # noqa: E402
from ingest.pipeline import ingest  # noqa: E402
from ui.state import AppState  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "corpora" / "demo"
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
PER_PHASE = 5


def main(data: Path) -> dict[str, object]:
    shutil.rmtree(data, ignore_errors=True)
    settings = Settings(
        data_dir=data, models_path=get_settings().models_dir, llm_threads=2, redact_names=False
    )
    ingest([DEMO], settings, progress=False)
    state = AppState(settings)
    state.load()
    state.jobs.start()
    questions = iter(QUESTIONS)

    def ask(question: str) -> float:
        started = time.perf_counter()
        for _ in state.ask_events(question):
            pass
        return time.perf_counter() - started

    ask("Bonjour, quels services propose la mairie ?")  # model and caches warm
    results: dict[str, object] = {"load_average_before": os.getloadavg()[0]}
    results["idle_s"] = [ask(next(questions)) for _ in range(4)]
    polite = state.jobs.busy
    for name, busy in (("polite", polite), ("not_yielding", lambda: False)):
        state.jobs.busy = busy
        folder = data / f"copie-{name}"
        folder.mkdir()
        for page in DEMO.glob("*.md"):
            text = page.read_text(encoding="utf-8").replace("# ", f"# ({name}) ", 1)
            (folder / f"{name}-{page.name}").write_text(text, encoding="utf-8")
        job = state.documents.ingest([folder], "bench", any_path=True)
        while job.status == "queued":
            time.sleep(0.05)
        latencies: list[float] = []
        while job.pending and len(latencies) < PER_PHASE:
            latencies.append(ask(next(questions, f"horaires de la piscine ({name}) ?")))
        state.jobs.wait_idle(3600)
        results[f"during_{name}_s"] = latencies
        results[f"{name}_job_s"] = job.seconds
        results[f"{name}_yielded_s"] = round(job.yielded_s, 1)
        results[f"{name}_passages"] = job.passages
    results["load_average_after"] = os.getloadavg()[0]
    for key in [k for k, v in results.items() if isinstance(v, list) and v]:
        values = results[key]
        assert isinstance(values, list)
        results[key[:-2] + "_p50_s"] = round(statistics.median(values), 1)
    state.jobs.stop()
    return results


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "live"
    print(json.dumps(main(folder), indent=1))
