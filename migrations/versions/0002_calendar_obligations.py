"""calendar obligations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:04:35.955248
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendarday',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('workday', sa.Boolean(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('minutes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['center.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_center_id'), ['center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_held_on'), ['held_on'], unique=False)

    op.create_table('dispatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_deadline_id'), ['deadline_id'], unique=False)

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('qc_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.alter_column('created_by_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint('uq_qc_case_key', ['key'])



def downgrade() -> None:
    with op.batch_alter_table('qc_case', schema=None) as batch_op:
        batch_op.drop_constraint('uq_qc_case_key', type_='unique')
        batch_op.alter_column('created_by_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('key')

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_deadline_id'))

    op.drop_table('dispatch')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_held_on'))
        batch_op.drop_index(batch_op.f('ix_meeting_center_id'))

    op.drop_table('meeting')
    op.drop_table('calendarday')
