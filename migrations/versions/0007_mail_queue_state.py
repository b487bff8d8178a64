"""mail delivery that survives outages: the queue's back-off state, permanent failures, sending quotas

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('sender_domain', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_outboxmessage_sent_at'), ['sent_at'], unique=False)
    op.create_table('mailqueuestate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('failing_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('retry_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''),
    sa.Column('last_failure_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('alert_raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_outage_started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_outage_ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_outage_alerted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO mailqueuestate (id, failures, last_error) VALUES (1, 0, '')")
    # Mail given up before this revision: it was failed by the old rule (a refused connection used an
    # attempt); its give-up time is unknown, the last try is the best guess.
    op.execute("UPDATE outboxmessage SET failed_at = next_attempt_at WHERE status = 'failed'")


def downgrade() -> None:
    op.drop_table('mailqueuestate')
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboxmessage_sent_at'))
        batch_op.drop_column('sender_domain')
        batch_op.drop_column('failed_at')
