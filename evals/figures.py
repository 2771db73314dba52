"""Figures of a set of scored records: per group (model, verify flag, dataset) the rates the
reports show, the verifier's table and curve, and the details a maintainer reads. No I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from assistant.core.stats import percentile
from evals.datasets import SHOULD_REFUSE
from evals.metrics import OUTCOMES

VERDICTS = ("answered", "partial", "quoted", "refused", "rejected_input", "error")
HEADLINE: tuple[tuple[str, str, bool | None], ...] = (
    ("n", "questions", None),
    ("wrong_delivered", "WRONG BUT DELIVERED (answers)", False),
    ("wrong_delivered_rate", "wrong-but-delivered rate (of delivered answers)", False),
    ("invented_rate", "invented-source rate (sentences)", False),
    ("answers_with_invented", "answers with an invented sentence", False),
    ("correct", "correct (answerable)", True),
    ("gold_recall", "gold token recall (mean)", True),
    ("citation_precision", "citation precision", True),
    ("citation_recall", "citation recall", True),
    ("refusal_recall", "refusal recall (should refuse)", True),
    ("refusal_precision", "refusal precision", True),
    ("ooc_refusal_recall", "refusal recall (out of corpus)", True),
    ("bait_refusal_recall", "refusal recall (fake-source bait)", True),
    ("injection_success", "injection success rate", False),
    ("recall@1", "retrieval recall@1", True),
    ("recall@k", "retrieval recall@k", True),
    ("mrr", "retrieval MRR", True),
    ("in_prompt", "expected source in prompt", True),
    ("share_answered", "share answered/partial", None),
    ("share_quoted", "share quoted", None),
    ("share_refused", "share refused", None),
    ("timeouts", "generation timeouts", False),
    ("p50_s", "latency p50 (s)", False),
    ("p95_s", "latency p95 (s)", False),
    ("prompt_tokens", "prompt tokens (mean)", False),
    ("output_tokens", "output tokens (mean)", False),
)

# (title, key of build()["details"], columns): the detail tables of report.md and report.html.
DETAIL_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Invented sentences (independent check)", "invented", ("id", "model", "sentence", "why")),
    ("Missed refusals", "missed_refusals", ("id", "model", "category", "question", "answer")),
    ("Successful injections", "injections", ("id", "model", "question", "answer", "why")),
    ("Incorrect answers", "incorrect", ("id", "model", "verdict", "question", "answer")),
    ("Errors", "errors", ("id", "model", "question", "error")),
)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _p50_p95(values: list[float]) -> tuple[float | None, float | None]:
    return percentile(values, 50), percentile(values, 95)


def summarise(records: list[dict]) -> dict:
    """Figures for one group of records (one model, one config, one dataset or several)."""
    s: dict = {"n": len(records)}
    scores = [r["scores"] for r in records]
    verdicts = [sc.get("verdict", "error") if "error" not in sc else "error" for sc in scores]
    s["verdicts"] = {v: verdicts.count(v) for v in VERDICTS}
    n = max(1, len(records))
    s["share_answered"] = (s["verdicts"]["answered"] + s["verdicts"]["partial"]) / n
    s["share_quoted"] = s["verdicts"]["quoted"] / n
    s["share_refused"] = (s["verdicts"]["refused"] + s["verdicts"]["rejected_input"]) / n
    reasons: dict[str, int] = defaultdict(int)
    for r in records:
        for reason in (r.get("answer") or {}).get("reasons", []):
            reasons[reason.split(" : ")[0]] += 1
    s["reasons"] = dict(reasons)
    s["timeouts"] = sum(n for k, n in reasons.items() if "délai" in k or "timeout" in k)

    # The worst outcome first: an answer delivered and wrong (evals.metrics.wrong_reasons).
    outcomes = [
        sc.get("outcome", "refused" if sc.get("refused") else "incomplete") for sc in scores
    ]
    s["outcomes"] = {o: outcomes.count(o) for o in OUTCOMES}
    delivered_n = sum(not sc.get("refused", True) for sc in scores if "error" not in sc)
    s["delivered"] = delivered_n
    s["wrong_delivered"] = s["outcomes"]["wrong"]
    s["wrong_delivered_rate"] = _ratio(s["outcomes"]["wrong"], delivered_n)

    sentences = sum(sc.get("sentences", 0) for sc in scores)
    invented = sum(sc.get("invented_sentences", 0) for sc in scores)
    s["sentences"] = sentences
    s["invented_sentences"] = invented
    s["invented_rate"] = _ratio(invented, sentences)
    delivered = [sc for sc in scores if sc.get("sentences")]
    s["answers_with_invented"] = sum(bool(sc.get("invented_sentences")) for sc in delivered)
    s["citation_precision"] = _ratio(
        sum(sc.get("correct_citations", 0) for sc in scores),
        sum(sc.get("citations", 0) for sc in scores),
    )
    s["citation_recall"] = _ratio(sum(sc.get("covered_sentences", 0) for sc in scores), sentences)

    graded = [sc for sc in scores if "correct" in sc]
    s["answerable"] = len(graded)
    s["correct"] = _mean([float(sc["correct"]) for sc in graded])
    s["gold_recall"] = _mean(
        [sc["gold_recall"] for sc in graded if sc.get("gold_recall") is not None]
    )

    def refusal(cats: set[str]) -> float | None:
        rows = [sc for r, sc in zip(records, scores, strict=True) if r["category"] in cats]
        return _mean([float(sc.get("refused", False)) for sc in rows])

    s["refusal_recall"] = refusal(set(SHOULD_REFUSE))
    s["ooc_refusal_recall"] = refusal({"out_of_corpus"})
    s["bait_refusal_recall"] = refusal({"fake_source_bait"})
    refused_rows = [r for r, sc in zip(records, scores, strict=True) if sc.get("refused")]
    has_refusable = any(r["category"] in SHOULD_REFUSE for r in records)
    s["refusal_precision"] = (
        _ratio(sum(r["category"] in SHOULD_REFUSE for r in refused_rows), len(refused_rows))
        if has_refusable
        else None
    )

    inj = [sc["injection"] for sc in scores if "injection" in sc]
    s["injections"] = len(inj)
    s["injection_success"] = _mean([float(x["success"]) for x in inj])

    ret = [sc["retrieval"] for sc in scores if sc.get("retrieval")]
    for key in ("recall@1", "recall@3", "recall@k", "mrr", "in_prompt"):
        s[key] = _mean([x[key] for x in ret])

    answers = [r["answer"] for r in records if r.get("answer")]
    totals = [a["timings"]["total_ms"] / 1000 for a in answers]
    generated = [a for a in answers if a["timings"]["generate_ms"] > 0]
    s["p50_s"], s["p95_s"] = _p50_p95(totals)
    s["stages"] = {
        stage: _p50_p95([a["timings"][key] / 1000 for a in rows if a["timings"][key] is not None])
        for stage, key, rows in (
            ("retrieve", "retrieve_ms", answers),
            ("generate", "generate_ms", generated),
            ("verify", "verify_ms", generated),
            ("first sentence", "first_sentence_ms", generated),
            ("total (generated)", "total_ms", generated),
        )
    }
    s["prompt_tokens"] = _mean([a["prompt_tokens"] for a in generated])
    s["output_tokens"] = _mean([a["output_tokens"] for a in generated])
    s["verifier"] = verifier_summary(scores)
    return s


def verifier_summary(scores: list[dict]) -> dict:
    rows = [v for sc in scores for v in sc.get("verifier", [])]  # (supported, passed, score)
    out: dict[str, Any] = {
        "sentences": len(rows),
        "removed_unsupported": sum(1 for ok, passed, _ in rows if not ok and not passed),
        "removed_good": sum(1 for ok, passed, _ in rows if ok and not passed),
        "kept_unsupported": sum(1 for ok, passed, _ in rows if not ok and passed),
        "kept_good": sum(1 for ok, passed, _ in rows if ok and passed),
    }
    out["curve"] = pr_curve([(sc, ok) for ok, _, sc in rows if sc is not None])
    return out


def pr_curve(pairs: list[tuple[float, bool]]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of "support_score >= t predicts independently supported"."""
    positives = sum(ok for _, ok in pairs)
    if not pairs or not positives:
        return []
    points = []
    for t in sorted({round(sc, 3) for sc, _ in pairs} | {0.5}, reverse=True):
        kept = [ok for sc, ok in pairs if sc >= t]
        if kept:
            points.append((t, sum(kept) / len(kept), sum(kept) / positives))
    return points


def group(records: list[dict], key: Callable[[dict], tuple]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return dict(sorted(out.items()))


def fmt_value(value, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if key.endswith("_s") or key.endswith("tokens"):
            return f"{value:.1f}"
        if key == "mrr":
            return f"{value:.3f}"
        return f"{100 * value:.1f} %"
    return str(value)


# --------------------------------------------------------------------------------------------
# details for maintainers


def _answer_summary(r: dict) -> str:
    """What a maintainer needs to see of an answer: the delivered text, or why it was refused,
    and the sentences the checks dropped."""
    a = r.get("answer")
    if a is None:
        return f"(input rejected) {r.get('rejected_input') or r.get('error') or ''}"
    refused = a["verdict"] == "refused"
    text = f"(refused: {'; '.join(a['reasons'])})" if refused else a["text"]
    for s in a.get("rejected", [])[:3]:
        failed = ", ".join(c["name"] for c in s["checks"] if not c["passed"])
        text += f" ‖ dropped [{failed}]: {s['text']} {s['source_ids']}"
    return text


def details(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        sc = r["scores"]
        base = {"id": r["id"], "model": r["model"], "question": r["item"]["question"][:300]}
        answer = _answer_summary(r)
        for inv in sc.get("invented", []):
            out["invented"].append(
                {**base, "sentence": inv["text"], "why": "; ".join(inv["reasons"])}
            )
        if r["category"] in SHOULD_REFUSE and not sc.get("refused"):
            out["missed_refusals"].append({**base, "category": r["category"], "answer": answer})
        if sc.get("injection", {}).get("success"):
            why = "; ".join(sc["injection"]["reasons"])
            out["injections"].append({**base, "answer": answer, "why": why})
        if "correct" in sc and not sc["correct"]:
            out["incorrect"].append({**base, "verdict": sc.get("verdict"), "answer": answer})
        if "error" in sc:
            out["errors"].append({**base, "error": sc["error"]})
    return out


# --------------------------------------------------------------------------------------------


def group_label(key: tuple) -> str:
    model, verify, dataset = key
    return f"{model}{'' if verify else ' (no verify)'} · {dataset}"


def build(records: list[dict]) -> dict:
    by_group = group(records, lambda r: (r["model"], r["verify"], r["dataset"]))
    by_model = group(records, lambda r: (r["model"], r["verify"]))
    return {
        "groups": {k: summarise(v) for k, v in by_group.items()},
        "models": {k: summarise(v) for k, v in by_model.items()},
        "details": details(records),
        "wrong": [
            {"id": r["id"], "question": r["item"]["question"], "reasons": r["scores"]["wrong"]}
            for r in records
            if r["scores"].get("wrong")
        ],
    }


def headline_rows(groups: dict[tuple, dict]) -> list[list[str]]:
    """The headline table, one row per metric and one column per group (both reports)."""
    return [
        [label, *[fmt_value(s.get(key), key) for s in groups.values()]]
        for key, label, _ in HEADLINE
    ]


def stage_table(groups: dict[tuple, dict]) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of latency per stage, "p50 / p95" in seconds, one row per group."""
    stages = list(next(iter(groups.values()))["stages"]) if groups else []
    rows = [
        [
            group_label(k),
            *[" / ".join(fmt_value(x, "_s") for x in s["stages"][st]) for st in stages],
        ]
        for k, s in groups.items()
    ]
    return ["group", *stages], rows


VERIFIER_COLUMNS = (
    ("sentences", "sentences"),
    ("removed_unsupported", "unsupported removed"),
    ("removed_good", "good wrongly dropped"),
    ("kept_unsupported", "unsupported kept"),
    ("kept_good", "good kept"),
)


def verifier_table(groups: dict[tuple, dict]) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the verifier's effectiveness, one row per group."""
    rows = [
        [group_label(k), *[str(s["verifier"][key]) for key, _ in VERIFIER_COLUMNS]]
        for k, s in groups.items()
    ]
    return ["group", *[title for _, title in VERIFIER_COLUMNS]], rows
