from django.db import transaction

from core.models import AuditEvent


@transaction.atomic
def audit_record(*, actor, action: str, target: str, details: dict | None = None) -> AuditEvent:
    """One row of the audit trail, in the transaction of the act it records (a rolled-back act leaves none).
    `actor` None is the command line or a worker."""
    return AuditEvent.objects.create(actor=actor, actor_name=actor.get_username() if actor else "", action=action,
                                     target=target, details=details or {})
