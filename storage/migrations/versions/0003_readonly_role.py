"""A PostgreSQL role that can only read the project's tables, for `linernotes sql`.

Revision ID: 0003_readonly_role
Revises: 0002
Create Date: 2026-11-30 13:10:00

`linernotes sql` must not reach server programs, server files or other
sessions whatever role the database URL names (often a superuser). A READ
ONLY transaction does not stop `COPY ... TO PROGRAM`, `pg_read_file` or
`pg_terminate_backend`, so the statement runs as `linernotes_reader`: a
NOLOGIN role with USAGE on the schema and SELECT on its tables and views
(default privileges extend that to tables later migrations create).

`SET ROLE` alone is not enough: the statement could call
`set_config('role', ...)` and switch back to the session user. PostgreSQL
refuses to change `role` or `session_authorization` inside a SECURITY DEFINER
function, so the statement runs inside `linernotes_readonly_rows`, a SECURITY
DEFINER function owned by the reader that returns the statement's rows.

Creating a role needs CREATEROLE (or a superuser): without it the migration
only warns, and `linernotes sql` refuses with a message saying what to run.
The SQL is a frozen copy (migrations must not change when storage/readonly.py
does).
"""

from __future__ import annotations

from alembic import op

revision = "0003_readonly_role"
down_revision = "0002"
branch_labels = None
depends_on = None

SETUP = r"""
DO $setup$
DECLARE
    schema_name text := current_schema();
    is_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'linernotes_reader') THEN
        BEGIN
            CREATE ROLE linernotes_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of this cluster created it meanwhile
        END;
    END IF;
    IF NOT is_super THEN
        EXECUTE 'GRANT linernotes_reader TO ' || quote_ident(current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO linernotes_reader',
        schema_name);
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION %I.linernotes_readonly_rows(statement text) '
        'RETURNS SETOF record LANGUAGE plpgsql SECURITY DEFINER '
        'AS $fn$ BEGIN RETURN QUERY EXECUTE statement; END $fn$',
        schema_name);
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format(
        'ALTER FUNCTION %I.linernotes_readonly_rows(text) OWNER TO linernotes_reader',
        schema_name);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM linernotes_reader', schema_name);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'linernotes: cannot set up role linernotes_reader (%); '
        'linernotes sql will refuse to run until a superuser upgrades this database', SQLERRM;
END
$setup$;
"""

TEARDOWN = r"""
DO $teardown$
BEGIN
    EXECUTE format('DROP FUNCTION IF EXISTS %I.linernotes_readonly_rows(text)', current_schema());
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'linernotes_reader') THEN
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE SELECT ON TABLES FROM linernotes_reader',
            current_schema());
        EXECUTE format('REVOKE SELECT ON ALL TABLES IN SCHEMA %I FROM linernotes_reader',
            current_schema());
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM linernotes_reader', current_schema());
    END IF;
END
$teardown$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SETUP)


def downgrade() -> None:
    # The role itself stays: other databases of the cluster may use it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TEARDOWN)
