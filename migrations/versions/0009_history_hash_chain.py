"""history hash chain: each case event carries its case's previous hash and its own

Existing events are chained as they stand (a change made before this revision cannot be seen);
from here on, `qcflow audit verify` finds any row changed, removed or inserted after it was written.
On PostgreSQL a trigger refuses UPDATE and DELETE of history rows (append-only); the database
owner can still drop it, which is what the chain is for.

Revision ID: 0009
Revises: 0007
"""
import json
from datetime import datetime

from alembic import op
import sqlalchemy as sa

from qcflow.core.history_chain import GENESIS, chain

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

_CASES_PER_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('hash', sa.String(), nullable=False, server_default=''))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_APPEND_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS caseevent_append_only ON caseevent")
        op.execute("DROP FUNCTION IF EXISTS caseevent_refuse_change()")
    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')


def _backfill(conn) -> None:
    bounds = conn.execute(sa.text("SELECT MIN(case_id), MAX(case_id) FROM caseevent")).first()
    if bounds is None or bounds[0] is None:
        return
    low, high = bounds
    select = sa.text('SELECT id, case_id, "trigger", from_state, to_state, actor_id, comment, details, at '
                     'FROM caseevent WHERE case_id BETWEEN :lo AND :hi ORDER BY case_id, id')
    update = sa.text("UPDATE caseevent SET prev_hash = :prev_hash, hash = :hash WHERE id = :id")
    for start in range(low, high + 1, _CASES_PER_BATCH):
        by_case: dict[int, list[dict]] = {}
        for row in conn.execute(select, {"lo": start, "hi": start + _CASES_PER_BATCH - 1}).mappings():
            event = dict(row)
            event["details"] = json.loads(event["details"]) if isinstance(event["details"], str) else event["details"]
            event["at"] = datetime.fromisoformat(event["at"]) if isinstance(event["at"], str) else event["at"]
            by_case.setdefault(event["case_id"], []).append(event)
        changes = []
        for events in by_case.values():
            chain(GENESIS, events)
            changes += [{"id": e["id"], "prev_hash": e["prev_hash"], "hash": e["hash"]} for e in events]
        if changes:
            conn.execute(update, changes)


_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION caseevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '办理记录只能追加，不能修改或删除（caseevent 为只追加表）';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER caseevent_append_only BEFORE UPDATE OR DELETE ON caseevent
    FOR EACH ROW EXECUTE FUNCTION caseevent_refuse_change();
"""
