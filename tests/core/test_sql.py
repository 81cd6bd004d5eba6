from django.utils import timezone

from annotate.models import Assignment
from annotate.services.assignments import assignment_next
from core.sql import sql_instance, sql_rows
from tests.factories import campaign_with_items


def test_plain_sql_gives_aware_datetimes_and_decoded_json_like_the_orm(manager, annotator):
    campaign = campaign_with_items(manager=manager, members=[annotator])
    held = assignment_next(campaign=campaign, annotator=annotator)
    rows = sql_rows(f"SELECT id, presented_order, expires_at FROM {Assignment._meta.db_table} WHERE id = %s",
                    [held.pk])
    assert timezone.is_aware(rows[0][2]) and rows[0][2] == held.expires_at
    loaded = sql_instance(Assignment, ["id", "presented_order", "expires_at"], rows[0])
    assert loaded.presented_order == held.presented_order and loaded.expires_at == held.expires_at
    assert loaded.get_deferred_fields() >= {"status", "item_id"}
