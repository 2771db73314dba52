"""The verdict rules, without a model: what each combination of check results must give."""

from assistant.core.answer import Reason, Verdict
from assistant.grounding.decide import decide_paraphrase, decide_quote


def quote(**kw):
    base = dict(failure=None, chose=True, delivered=1, rejected=0, holds_kind=True)
    return decide_quote(**{**base, **kw})


def para(**kw):
    base = dict(failure=None, delivered=1, rejected=0, declined=False, quoted=False)
    return decide_paraphrase(**{**base, **kw})


def test_quote_verdicts():
    assert quote().verdict is Verdict.answered
    assert quote(failure=Reason.timeout).verdict is Verdict.refused
    assert quote(failure=Reason.timeout, delivered=3).reasons == [Reason.timeout]
    assert quote(chose=False).reasons == [Reason.model_declined]
    assert quote(delivered=0).reasons == [Reason.off_subject]
    # True sentences that do not hold the asked kind of fact are never "answered".
    off = quote(holds_kind=False)
    assert off.verdict is Verdict.quoted and off.reasons == [Reason.off_point]
    part = quote(rejected=2)
    assert part.verdict is Verdict.partial and part.reasons == [Reason.sentences_dropped]
    assert "2" in part.detail


def test_paraphrase_verdicts():
    assert para().verdict is Verdict.answered
    # Cut short after a verified sentence: kept, but never called a full answer.
    cut = para(failure=Reason.timeout)
    assert cut.verdict is Verdict.partial and cut.reasons == [Reason.timeout]
    assert para(rejected=1).verdict is Verdict.partial
    assert para(delivered=0, failure=Reason.generation_error).verdict is Verdict.refused
    assert para(delivered=0, declined=True).reasons == [Reason.model_declined]
    quoted = para(delivered=0, quoted=True)
    assert quoted.verdict is Verdict.quoted and quoted.reasons == [Reason.nothing_safe]
    assert para(delivered=0).verdict is Verdict.refused
