"""The verdict of an answer from what its checks left: pure functions, no model, no index.

Quote mode and paraphrase mode reach a verdict from different facts, but the same rule holds:
nothing that failed is shown, a cut-short answer is never "answered", and an answer whose
sentences do not hold the kind of fact asked for is at best "quoted".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.core.answer import Reason, Verdict


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)
    detail: str = ""


def _dropped(rejected: int) -> str:
    return f"{rejected} phrase(s)"


def decide_quote(
    *,
    failure: Reason | None,
    detail: str = "",
    chose: bool,
    delivered: int,
    rejected: int,
    holds_kind: bool,
) -> Decision:
    """``failure``: time-out or error of the model; ``chose``: its output parsed as a
    selection; ``delivered``/``rejected``: chosen units that passed or failed their checks;
    ``holds_kind``: the delivered units hold the kind of fact the question asks for."""
    if failure is not None:
        return Decision(Verdict.refused, [failure], detail)
    if not chose:
        return Decision(Verdict.refused, [Reason.model_declined])
    if not delivered:
        return Decision(Verdict.refused, [Reason.off_subject])
    if not holds_kind:
        return Decision(Verdict.quoted, [Reason.off_point])
    if rejected:
        return Decision(Verdict.partial, [Reason.sentences_dropped], _dropped(rejected))
    return Decision(Verdict.answered)


def decide_paraphrase(
    *,
    failure: Reason | None,
    detail: str = "",
    delivered: int,
    rejected: int,
    declined: bool,
    quoted: bool,
) -> Decision:
    """``declined``: the model answered "not in the sources"; ``quoted``: with nothing
    delivered, a verbatim passage passed the fallback's checks."""
    if delivered:
        reasons = [failure] if failure is not None else []
        if rejected:
            reasons.append(Reason.sentences_dropped)
        # Cut short by a time-out or an error: what was delivered is verified but may be
        # incomplete, so never call it a full answer.
        verdict = Verdict.answered if not reasons else Verdict.partial
        return Decision(verdict, reasons, detail or (_dropped(rejected) if rejected else ""))
    if failure is not None:
        return Decision(Verdict.refused, [failure], detail)
    if declined:
        return Decision(Verdict.refused, [Reason.model_declined])
    if quoted:
        return Decision(Verdict.quoted, [Reason.nothing_safe])
    return Decision(Verdict.refused, [Reason.nothing_safe])
