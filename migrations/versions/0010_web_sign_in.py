"""web sign-in: login tokens, sessions, sign-in requests, task-link openings, person settings

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_TIME = sqlmodel.sql.sqltypes.UTCDateTime
_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table('logintoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', _TEXT(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', _TIME(), nullable=False),
    sa.Column('expires_at', _TIME(), nullable=False),
    sa.Column('used_at', _TIME(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_logintoken_person_id'), 'logintoken', ['person_id'], unique=False)
    op.create_table('signinrequest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', _TEXT(), nullable=False),
    sa.Column('client_key', _TEXT(), nullable=False),
    sa.Column('at', _TIME(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_signinrequest_email_at', 'signinrequest', ['email_key', 'at'], unique=False)
    op.create_index('ix_signinrequest_client_at', 'signinrequest', ['client_key', 'at'], unique=False)
    op.create_table('websession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', _TEXT(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', _TIME(), nullable=False),
    sa.Column('last_seen_at', _TIME(), nullable=False),
    sa.Column('expires_at', _TIME(), nullable=False),
    sa.Column('ended_at', _TIME(), nullable=True),
    sa.Column('user_agent', _TEXT(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_websession_person_id'), 'websession', ['person_id'], unique=False)
    op.create_table('linkopening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', _TIME(), nullable=False),
    sa.Column('user_agent', _TEXT(), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['tasklink.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['qc_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_linkopening_link_id'), 'linkopening', ['link_id'], unique=False)
    op.create_index(op.f('ix_linkopening_case_id'), 'linkopening', ['case_id'], unique=False)
    op.create_table('personsetting',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('daily_digest', sa.Boolean(), nullable=False),
    sa.Column('digest_sent_on', _TEXT(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )


def downgrade() -> None:
    op.drop_table('personsetting')
    op.drop_index(op.f('ix_linkopening_case_id'), table_name='linkopening')
    op.drop_index(op.f('ix_linkopening_link_id'), table_name='linkopening')
    op.drop_table('linkopening')
    op.drop_index(op.f('ix_websession_person_id'), table_name='websession')
    op.drop_table('websession')
    op.drop_index('ix_signinrequest_client_at', table_name='signinrequest')
    op.drop_index('ix_signinrequest_email_at', table_name='signinrequest')
    op.drop_table('signinrequest')
    op.drop_index(op.f('ix_logintoken_person_id'), table_name='logintoken')
    op.drop_table('logintoken')
