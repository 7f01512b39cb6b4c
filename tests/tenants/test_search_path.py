"""The backend sends `SET search_path` in one query with the next statement after a schema move.

Real PostgreSQL, one persistent connection. Each schema (public and two tenants) holds its own
row in a table of the same name, so a query answered from the wrong schema shows it. The
traps: a statement that fails undoes the SET sent with it (its query is one implicit
transaction), rollbacks undo it inside transactions, and executemany(), COPY, server-side
cursors and statements that refuse a multi-statement query (VACUUM) cannot carry it.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from tenants.schema_template import quote
from tests.tenants.wire import queries_sent

MARKER = "schema_marker"


@pytest.fixture
def schemas(committed_tenant):
    """public and two tenant schemas, each with its own MARKER row naming it."""
    names = ["public", committed_tenant().schema_name, committed_tenant().schema_name]
    move_to("public")
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"CREATE TABLE {quote(name)}.{MARKER} (owner text)")
            cursor.execute(f"INSERT INTO {quote(name)}.{MARKER} VALUES (%s)", [name])
    yield names
    move_to("public")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS public.{MARKER}")


def move_to(schema: str) -> None:
    connection.set_schema(schema)  # type: ignore[attr-defined]


def owners(cursor=None) -> list[str]:
    if cursor is None:
        with connection.cursor() as cursor:
            return owners(cursor)
    cursor.execute(f"SELECT owner FROM {MARKER} ORDER BY owner")
    return [owner for (owner,) in cursor.fetchall()]


def session_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        return cursor.fetchone()[0]


def test_a_schema_move_costs_no_round_trip_of_its_own(schemas):
    public, first, second = schemas
    move_to(first)
    assert owners() == [first]
    for name in (second, first, public, second, second, first):
        move_to(name)
        with queries_sent(connection) as sent:
            assert owners() == [name]
        assert len(sent) == 1
    # Moving sends the SET in the same query as the statement; staying sends none.
    move_to(second)
    with queries_sent(connection) as sent:
        assert owners() == [second]
        assert owners() == [second]
    assert sent[0].startswith(f'SET search_path = "{second}", "public"; SELECT')
    assert "search_path" not in sent[1]


@pytest.mark.parametrize("same_cursor", [True, False], ids=["same cursor", "new cursor"])
def test_a_failing_statement_right_after_a_move_does_not_lose_the_schema(schemas, same_cursor):
    public, first, second = schemas
    move_to(first)
    assert owners() == [first]
    move_to(second)
    with connection.cursor() as cursor:
        with pytest.raises(DatabaseError):
            cursor.execute("SELECT 1 / 0")  # its implicit transaction undoes the SET with it
        assert owners(cursor if same_cursor else None) == [second]
    assert session_path() == f"{second}, public"
    move_to("public")
    with connection.cursor() as cursor, pytest.raises(DatabaseError):
        cursor.execute(f"SELECT no_such_column FROM {MARKER}")
    assert owners() == [public]


def test_a_failing_statement_in_a_savepoint_after_a_move_inside_a_transaction(schemas):
    public, first, second = schemas
    move_to(first)
    assert owners() == [first]
    with transaction.atomic():
        move_to(second)
        with pytest.raises(DatabaseError), transaction.atomic():
            owners_in_savepoint = owners()
            move_to(public)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        assert owners_in_savepoint == [second]
        # The rollback to the savepoint ran (no SET in front of it in the failed transaction)
        # and undid nothing the session still needs: public's path is sent again.
        assert owners() == [public]
        move_to(second)
        assert owners() == [second]
    with pytest.raises(DatabaseError), transaction.atomic():
        move_to(first)
        assert owners() == [first]
        raise DatabaseError("roll back the transaction that moved to the first tenant")
    assert owners() == [first]
    move_to(second)
    assert owners() == [second]


def test_executemany_copy_and_server_side_cursors_run_in_the_schema_moved_to(schemas):
    public, first, second = schemas
    move_to(first)
    assert owners() == [first]

    move_to(second)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {MARKER} VALUES (%s)", [["many-1"], ["many-2"]])
    assert owners() == ["many-1", "many-2", second]

    move_to(first)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {MARKER} TO STDOUT") as copy:
        copied = [bytes(row).decode().strip() for row in copy]
    assert copied == [first]

    move_to(second)
    with connection.chunked_cursor() as cursor:
        assert cursor.cursor.name  # a server-side cursor: its DECLARE cannot carry a SET
        cursor.execute(f"SELECT owner FROM {MARKER} WHERE owner LIKE 'many-%' ORDER BY owner")
        assert [owner for (owner,) in cursor.fetchall()] == ["many-1", "many-2"]

    move_to(public)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {MARKER}")  # refuses a multi-statement query: sent after its own SET
    assert owners() == [public]
    assert session_path() == "public"


def test_alternating_tenants_in_transactions_on_one_connection(schemas):
    public, first, second = schemas
    for round_number in range(3):
        for name in (first, second, public):
            with transaction.atomic():
                move_to(name)
                with connection.cursor() as cursor:
                    cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [f"{name}-{round_number}"])
                assert owners() == sorted([name, *(f"{name}-{n}" for n in range(round_number + 1))])


def test_a_schema_name_that_could_break_out_of_the_set_is_refused_every_time(schemas):
    """The path is made once per schema and process; a name that fails django-tenants'
    validation is never kept, so each attempt to use it is refused again."""
    public, first, _ = schemas
    move_to(first)
    assert owners() == [first]
    for _ in range(2):
        with pytest.raises(ValidationError):  # at the move, or at the statement after it
            move_to('t_x"; DROP SCHEMA public; --')
            owners()
    move_to(first)
    assert owners() == [first]  # the valid path, made once, still answers
    move_to(public)
    assert owners() == [public]
