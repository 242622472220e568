"""Partition the audit table by month (PostgreSQL declarative partitioning).

The audit table grows fastest: every page view writes a row, 100M+ a year nationally. Monthly
partitions keep each index small enough to stay in memory, let old months be detached and
archived whole when their retention ends (no DELETE, which the trigger refuses anyway), and
let date-filtered audit queries skip the months they do not need.

The primary key becomes (id, at): a partitioned table's unique keys must hold the partition
key. Django still treats `id` as the primary key; ids come from one sequence, so they stay
unique. The append-only trigger is recreated on the partitioned table (PostgreSQL clones it to
every partition, present and future). A DEFAULT partition catches a row whose month has no
partition yet (for example a clock set far ahead), so writing the audit row never fails; the
daily task `audit.tasks.ensure_partitions` creates the months ahead
(`audit_partitions_ensure` in slaverycases/audit/actions.py). Rows are copied in the same transaction; on SQLite nothing
changes.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE audit_auditevent RENAME TO audit_auditevent_unpartitioned;
ALTER TABLE audit_auditevent_unpartitioned
    RENAME CONSTRAINT audit_auditevent_pkey TO audit_auditevent_unpartitioned_pkey;
ALTER SEQUENCE audit_auditevent_id_seq RENAME TO audit_auditevent_unpartitioned_id_seq;
DO $$
DECLARE idx record;
BEGIN
    FOR idx IN SELECT indexname FROM pg_indexes
               WHERE tablename = 'audit_auditevent_unpartitioned'
                 AND indexname <> 'audit_auditevent_unpartitioned_pkey'
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', idx.indexname, idx.indexname || '_old');
    END LOOP;
END $$;

CREATE SEQUENCE audit_auditevent_id_seq;
CREATE TABLE audit_auditevent (
    id bigint NOT NULL DEFAULT nextval('audit_auditevent_id_seq'),
    at timestamp with time zone NOT NULL,
    actor_username varchar(150) NOT NULL,
    ip_address inet,
    user_agent varchar(300) NOT NULL,
    action varchar(20) NOT NULL,
    object_type varchar(60) NOT NULL,
    object_id varchar(60) NOT NULL,
    object_repr varchar(200) NOT NULL,
    investigation_reference varchar(20) NOT NULL,
    justification text NOT NULL,
    recipient varchar(200) NOT NULL,
    detail jsonb NOT NULL,
    actor_id bigint,
    CONSTRAINT audit_auditevent_pkey PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_auditevent_id_seq OWNED BY audit_auditevent.id;
ALTER TABLE audit_auditevent ADD CONSTRAINT audit_auditevent_actor_id_fk_accounts_user_id
    FOREIGN KEY (actor_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX audit_auditevent_at_f461ba89 ON audit_auditevent (at);
CREATE INDEX audit_actor_at ON audit_auditevent (actor_id, at DESC);
CREATE INDEX audit_object ON audit_auditevent (object_type, object_id);
CREATE INDEX audit_case_at ON audit_auditevent (investigation_reference, at DESC);
CREATE TABLE audit_auditevent_default PARTITION OF audit_auditevent DEFAULT;

DO $$
DECLARE
    first_month date := date_trunc('month', coalesce(
        (SELECT min(at) FROM audit_auditevent_unpartitioned), now()) AT TIME ZONE 'UTC')::date;
    last_month date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months')::date;
    m date := first_month;
BEGIN
    WHILE m <= last_month LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF audit_auditevent FOR VALUES FROM (%L) TO (%L)',
            'audit_auditevent_' || to_char(m, 'YYYY_MM'),
            (m::timestamp AT TIME ZONE 'UTC'),
            ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        m := (m + interval '1 month')::date;
    END LOOP;
END $$;

INSERT INTO audit_auditevent (
    id, at, actor_username, ip_address, user_agent, action, object_type, object_id,
    object_repr, investigation_reference, justification, recipient, detail, actor_id)
SELECT id, at, actor_username, ip_address, user_agent, action, object_type, object_id,
    object_repr, investigation_reference, justification, recipient, detail, actor_id
  FROM audit_auditevent_unpartitioned;
SELECT setval('audit_auditevent_id_seq',
              coalesce((SELECT max(id) FROM audit_auditevent_unpartitioned), 0) + 1, false);
DROP TABLE audit_auditevent_unpartitioned;

CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_alter_auditevent_action"), ("accounts", "0003_recoverycode")]
    # One way: going back would mean copying every row into one table again.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop, atomic=True)]
