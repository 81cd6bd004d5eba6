"""What an export is: a spec (a JSON object) checked here in full before anything runs.

The checked spec holds every key with its value or default, so that the stored spec alone says how a dataset was
made, and running it again on the same data gives the same bytes.
"""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import salted_hmac

from annotate.protocols import ATTRIBUTES, RANK_VS_RATE, Protocol
from core.values import canonical_json, json_check

FORMATS = {
    "dpo": "TRL preference (prompt, chosen, rejected): DPO, ORPO, CPO, reward training",
    "kto": "TRL unpaired preference (prompt, completion, label): KTO, BCO",
    "reward": "TRL preference with a margin column: reward modelling",
    "listwise": "one row per ranked list (prompt, completions best first, ranks, scores): LiPO, PRO",
    "attributes": "regression rows per response: HelpSteer2 attributes or the Likert rating",
    "openai": "OpenAI preference fine-tuning JSONL (input, preferred_output, non_preferred_output)",
    "raw": "every judgment in Concord's exchange format, annotators pseudonymised",
}
PAIR_FORMATS = ("dpo", "kto", "reward", "openai")
JSONL_ONLY = ("openai", "raw")
FILETYPES = ("jsonl", "jsonl.gz", "parquet", "hf")
STYLES = ("conversational", "standard")
AGGREGATIONS = {
    "none": "one row per judgment (per annotator)",
    "majority": "per item: the majority vote of each pair of responses",
    "mean_top3": "per item: the mean scores of the three most-agreeing annotators (HelpSteer2)",
}
PAIR_STRATEGIES = {
    "all": "every pair of responses with different scores",
    "best_vs_worst": "the best response(s) against the worst",
    "best_vs_rest": "the best response(s) against every lower one",
    "adjacent": "each score level against the next lower one",
}
SCORED_PROTOCOLS = (Protocol.RATING, Protocol.ATTRIBUTES)
DESIGN_PROTOCOLS = {
    Protocol.PAIRWISE: [Protocol.PAIRWISE],
    Protocol.RANKING: [Protocol.RANKING],
    Protocol.RATING: [Protocol.RATING],
    Protocol.ATTRIBUTES: [Protocol.ATTRIBUTES],
    RANK_VS_RATE: [Protocol.PAIRWISE, Protocol.RANKING, Protocol.RATING],
}
MAX_TEST_SIZE = 0.5
MAX_CAMPAIGNS = 100  # one export; more is a mistake or an attack on the queries that check them
DEFAULTS = {
    "filetype": "jsonl",
    "style": "conversational",
    "aggregate": "none",
    "pairs": "all",
    "score_weights": {"helpfulness": 1.0},
    "min_margin": 0.0,
    "min_agreement": None,
    "max_spread": None,
    "exclude_gold_failures": False,
    "include_gold": False,
    "include_ai_judges": False,  # judgments of ai:... annotators (annotate.protocols.AI_PREFIX)
    "drop_ties": False,
    "models": [],
    "protocols": [],
    "since": None,
    "until": None,
    "test_size": 0.1,
    "split_seed": "",
    "salt": "",
    "provenance": True,
    "include_rationale": False,
    "license": "unknown",
    "name": "",
}
KEYS = ("campaigns", "format", *DEFAULTS)


class _Errors(dict):
    def check(self, ok: bool, key: str, message: str) -> bool:
        if not ok:
            self.setdefault(key, message)
        return ok


def _number(value, *, low: float, high: float | None = None) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def _moment(value, key: str, errors: _Errors) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if not errors.check(moment is not None, key, "must be an ISO 8601 date or date and time."):
        return None
    moment = moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment
    return moment.astimezone(UTC).isoformat()


def _string_list(value, key: str, errors: _Errors) -> list[str]:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return sorted({v.strip() for v in value}) if errors.check(ok, key, "must be a list of non-empty strings.") else []


def spec_clean(raw) -> dict:
    """The spec with every key: types, ranges and combinations checked; the campaigns are checked by the service."""
    if not isinstance(raw, dict):
        raise ValidationError("An export spec is a JSON object.")
    try:
        json_check(raw)  # text the card and the files can hold, numbers the database can
    except ValidationError as error:
        raise ValidationError({"spec": error.messages}) from None
    errors = _Errors()
    unknown = sorted(set(raw) - set(KEYS))
    errors.check(not unknown, "spec", f"unknown key(s): {', '.join(map(str, unknown))}.")
    spec = {**DEFAULTS, **{key: value for key, value in raw.items() if key in KEYS}}

    campaigns = raw.get("campaigns")
    if errors.check(isinstance(campaigns, list) and 0 < len(campaigns) <= MAX_CAMPAIGNS and all(
            isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in campaigns),
            "campaigns", f"must list 1 to {MAX_CAMPAIGNS} campaign ids."):
        spec["campaigns"] = sorted(set(campaigns))
    errors.check(raw.get("format") in FORMATS, "format", f"must be one of {', '.join(FORMATS)}.")
    for key, allowed in (("filetype", FILETYPES), ("style", STYLES), ("aggregate", AGGREGATIONS),
                         ("pairs", PAIR_STRATEGIES)):
        errors.check(spec[key] in allowed, key, f"must be one of {', '.join(allowed)}.")
    for key in ("exclude_gold_failures", "include_gold", "include_ai_judges", "drop_ties", "provenance",
                "include_rationale"):
        errors.check(isinstance(spec[key], bool), key, "must be true or false.")
    for key, maximum in (("license", 100), ("name", 200), ("split_seed", 200), ("salt", 200)):
        errors.check(isinstance(spec[key], str) and len(spec[key]) <= maximum, key,
                     f"must be a string of at most {maximum} characters.")

    weights = spec["score_weights"]
    if errors.check(isinstance(weights, dict) and weights and set(weights) <= set(ATTRIBUTES)
                    and all(_number(w, low=-100, high=100) for w in weights.values())
                    and any(weights.values()), "score_weights",
                    f"must map some of {', '.join(ATTRIBUTES)} to numbers, not all zero."):
        spec["score_weights"] = {name: float(weights[name]) for name in sorted(weights)}
    errors.check(_number(spec["min_margin"], low=0), "min_margin", "must be a number of at least 0.")
    errors.check(spec["min_agreement"] is None or _number(spec["min_agreement"], low=0, high=1), "min_agreement",
                 "must be empty or a share from 0 to 1.")
    errors.check(spec["max_spread"] is None or _number(spec["max_spread"], low=0), "max_spread",
                 "must be empty or a number of at least 0.")
    errors.check(_number(spec["test_size"], low=0, high=MAX_TEST_SIZE), "test_size",
                 f"must be a share from 0 to {MAX_TEST_SIZE}.")
    spec["models"] = _string_list(spec["models"], "models", errors)
    spec["protocols"] = _string_list(spec["protocols"], "protocols", errors)
    errors.check(set(spec["protocols"]) <= set(Protocol.values), "protocols",
                 f"must name some of {', '.join(Protocol.values)}.")
    spec["since"], spec["until"] = _moment(spec["since"], "since", errors), _moment(spec["until"], "until", errors)
    if spec["since"] and spec["until"]:
        errors.check(spec["since"] < spec["until"], "until", "must be after since.")
    if errors:
        raise ValidationError(dict(errors))
    _combinations_check(spec)
    return {key: spec[key] for key in KEYS}


def _combinations_check(spec: dict) -> None:
    errors = _Errors()
    form, aggregate = spec["format"], spec["aggregate"]
    if form in JSONL_ONLY:
        errors.check(spec["filetype"] in ("jsonl", "jsonl.gz"), "filetype", f"{form} exports are JSONL files.")
    if form == "raw":
        errors.check(aggregate == "none", "aggregate", "raw exports every judgment as it is.")
        errors.check(spec["min_agreement"] is None and spec["max_spread"] is None, "min_agreement",
                     "raw exports every judgment: agreement and spread filters need an aggregated format.")
    if form == "openai":
        errors.check(spec["style"] == "conversational", "style", "OpenAI preference rows are conversations.")
    if form == "attributes":
        errors.check(aggregate != "majority", "aggregate", "scores are aggregated by mean_top3, not by a vote.")
    if errors:
        raise ValidationError(dict(errors))


def spec_protocols_resolve(spec: dict, designs: list[str]) -> dict:
    """Fill in the protocols the campaigns hold when none are named, and check what needs one scale."""
    held = sorted({protocol for design in designs for protocol in DESIGN_PROTOCOLS[design]})
    protocols = spec["protocols"] or held
    if spec["format"] == "attributes" and not spec["protocols"]:
        protocols = [p for p in held if p in SCORED_PROTOCOLS]
    errors = _Errors()
    if spec["format"] == "attributes":
        errors.check(len(protocols) == 1 and protocols[0] in SCORED_PROTOCOLS, "protocols",
                     f"attribute rows come from rating or attributes judgments (name one); the campaigns hold "
                     f"{', '.join(held)}.")
    errors.check(bool(set(protocols) & set(held)), "protocols",
                 f"the campaigns hold {', '.join(held)} judgments, not {', '.join(protocols)}.")
    if spec["aggregate"] == "mean_top3":
        errors.check(len(protocols) == 1, "protocols", "mean_top3 averages scores on one scale: name one protocol.")
    if errors:
        raise ValidationError(dict(errors))
    return {**spec, "protocols": protocols}


def spec_salt(spec: dict) -> str:
    """The pseudonym salt: the one given, or one derived from the rest of the spec and the server's secret.

    The same spec gives the same pseudonyms (so the same bytes); any other spec gives unlinkable ones.
    """
    if spec["salt"]:
        return spec["salt"]
    digest = salted_hmac("concord.exports.salt", canonical_json({**spec, "salt": ""}), algorithm="sha256")
    return digest.hexdigest()[:32]
