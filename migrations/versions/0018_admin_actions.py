"""admin actions: who requeued which mail, and other actions on the platform itself

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TS = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'adminaction',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('action', _STR(), nullable=False),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('at', _TS(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
    )
    op.create_index('ix_adminaction_action', 'adminaction', ['action'])
    op.create_index('ix_adminaction_person_id', 'adminaction', ['person_id'])


def downgrade() -> None:
    op.drop_index('ix_adminaction_person_id', table_name='adminaction')
    op.drop_index('ix_adminaction_action', table_name='adminaction')
    op.drop_table('adminaction')
