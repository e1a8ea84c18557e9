"""Writing many rows at once on PostgreSQL: ids taken from a table's sequence in one query, and
COPY instead of an INSERT per row (an import writes a thousand rows a page, and building a
model per row costs more than the database does)."""

from collections.abc import Iterable

from django.db import connection as db_connection
from django.db import models


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """`count` new ids for the model's table, ascending, as its inserts would take them."""
    if count <= 0:
        return []
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def copy_rows(
    model: type[models.Model], columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]
) -> None:
    """COPY rows (values in `columns` order) into the model's table; database errors are
    raised as Django's."""
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with (
        db_connection.cursor() as cursor,
        db_connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
