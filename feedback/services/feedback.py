from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from feedback.models import Feedback, Message


@transaction.atomic
def feedback_submit(
    *,
    message: Message,
    author: User,
    thumb: str = "",
    reasons: list[str] | None = None,
    rating: int | None = None,
    comment: str = "",
    better_than: Message | None = None,
) -> Feedback:
    """Record what a user says of a model reply; `better_than` is a sibling reply (same parent) it beats."""
    if message.role != Message.Role.ASSISTANT:
        raise ValidationError("Feedback is given on a model reply (an assistant message).")
    reasons = reasons or []
    unknown = sorted(set(reasons) - set(Feedback.REASONS))
    if unknown:
        raise ValidationError(f"Unknown reason(s): {', '.join(unknown)}; use {', '.join(Feedback.REASONS)}.")
    if thumb not in {"", *Feedback.Thumb.values}:
        raise ValidationError("thumb is 'up' or 'down'.")
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError("rating is between 1 and 5.")
    if better_than is not None and (better_than.pk == message.pk or better_than.parent_id != message.parent_id
                                    or better_than.role != Message.Role.ASSISTANT):
        raise ValidationError("better_than must be another reply to the same message (a regeneration).")
    if not (thumb or reasons or rating or comment.strip() or better_than):
        raise ValidationError("Feedback needs a thumb, a reason, a rating, a comment or a preferred reply.")
    return Feedback.objects.create(message=message, author=author, thumb=thumb, reasons=reasons, rating=rating,
                                   comment=comment.strip(), better_than=better_than)
