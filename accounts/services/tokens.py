import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from core.sql import sql_instance, sql_rows

KEY_PREFIX = "ccd_"
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Return the token row and the key, which is shown once and never stored. `expires_in_days`: refused from
    that many days on (None: until revoked)."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days, or never.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    token = ApiToken.objects.create(user=user, name=name or "API token", prefix=key[:12], key_hash=token_hash(key),
                                    expires_at=expires_at)
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


# Every API request authenticates, so the lookup is one plain statement: through the ORM it cost several
# times the rest of a small request.
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_USER_COLUMNS = ", ".join(f"person.{field.column}" for field in User._meta.concrete_fields)
_TOKEN_USER_SQL = (
    f"SELECT token.id, token.last_used_at, {_USER_COLUMNS}"
    f" FROM {ApiToken._meta.db_table} token JOIN {User._meta.db_table} person ON person.id = token.user_id"
    " WHERE token.key_hash = %s AND token.revoked_at IS NULL AND person.is_active"
    " AND (token.expires_at IS NULL OR token.expires_at > %s)"
)


def token_authenticate(*, key: str) -> User | None:
    """The active user behind a key, or None for an unknown, revoked, expired or inactive one."""
    now = timezone.now()
    rows = sql_rows(_TOKEN_USER_SQL, [token_hash(key), now])
    if not rows:
        return None
    token_id, last_used_at, *user_values = rows[0]
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return sql_instance(User, _USER_FIELDS, user_values)
