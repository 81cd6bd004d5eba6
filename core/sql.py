"""Plain SQL for the few hot paths where building a query with the ORM costs more than running it."""

from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

from core.values import INT64_MAX


def sql_id_possible(value: int) -> bool:
    """Whether a row could have this id: URLs take any digits, but a parameter beyond 64 bits makes the database
    driver raise (the ORM turns such lookups into "no rows"; plain SQL must ask first)."""
    return 0 < value <= INT64_MAX


def sql_rows(sql: str, params: list) -> list[tuple]:
    """The rows of one statement on the default database (`%s` placeholders on every back end). Datetimes come
    back aware, as from the ORM: SQLite stores them as naive UTC."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        rows = [tuple(value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
                      for value in row) for row in rows]
    return rows


def sql_run(sql: str, params: list) -> int:
    """Run one statement that returns no rows; the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def sql_instance(model: type[Model], attnames: list[str], values) -> Model:
    """A model instance from columns read with plain SQL, converted as the ORM would (JSON is decoded); fields
    left out are deferred, as with .only()."""
    fields = [model._meta.get_field(name) for name in attnames]
    values = [field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
              for field, value in zip(fields, values, strict=True)]
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


def sql_insert(model: type[Model], columns: list[str], rows) -> None:
    """Insert rows given as tuples of column values in database form (JSON as text; `sql_now()` for times), with
    no model instance per row: bulk_create builds and prepares one for every row, most of a large import's time.
    PostgreSQL reads them with COPY, other databases with one INSERT run for many rows. No ids come back: read
    them by a unique key. Columns left out take the database's default (NULL: Django sets none)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)


def sql_now():
    """Now, as the default database stores a time (for sql_insert)."""
    return connection.ops.adapt_datetimefield_value(datetime.now(UTC))
