"""monitoring indicators (H3, Y§14): dictionary versions, definitions, quarterly values, means, spot checks

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TS = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'indicatorset',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('specialty', _STR(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('checksum', _STR(), nullable=False),
        sa.Column('source', _STR(), nullable=False),
        sa.Column('loaded_at', _TS(), nullable=False),
        sa.UniqueConstraint('specialty', 'year', 'version', name='uq_indicator_set'),
    )
    op.create_index('ix_indicatorset_specialty', 'indicatorset', ['specialty'])
    op.create_table(
        'indicatordefinition',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('set_id', sa.Integer(), sa.ForeignKey('indicatorset.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('code', _STR(), nullable=False),
        sa.Column('name', _STR(), nullable=False),
        sa.Column('numerator', _STR(), nullable=False),
        sa.Column('denominator', _STR(), nullable=False),
        sa.Column('unit', _STR(), nullable=False),
        sa.Column('direction', _STR(), nullable=False),
        sa.Column('category', _STR(), nullable=False),
        sa.Column('national_goal', _STR(), nullable=False),
        sa.Column('flag', sa.JSON(), nullable=False),
        sa.UniqueConstraint('set_id', 'code', name='uq_indicator_definition'),
    )
    op.create_index('ix_indicatordefinition_set_id', 'indicatordefinition', ['set_id'])
    op.create_table(
        'indicatorvalue',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('specialty', _STR(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('indicator_code', _STR(), nullable=False),
        sa.Column('institution_code', _STR(), nullable=False),
        sa.Column('numerator', sa.Float(), nullable=False),
        sa.Column('denominator', sa.Float(), nullable=False),
        sa.Column('source', _STR(), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=True),
        sa.Column('imported_at', _TS(), nullable=False),
        sa.UniqueConstraint('specialty', 'year', 'quarter', 'indicator_code', 'institution_code',
                            name='uq_indicator_value'),
    )
    op.create_table(
        'indicatormean',
        sa.Column('specialty', _STR(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('indicator_code', _STR(), nullable=False),
        sa.Column('scope', _STR(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('source', _STR(), nullable=False),
        sa.PrimaryKeyConstraint('specialty', 'year', 'indicator_code', 'scope'),
    )
    op.create_table(
        'spotcheck',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('specialty', _STR(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('institutions', sa.JSON(), nullable=False),
        sa.Column('drawn_by_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('drawn_at', _TS(), nullable=False),
    )
    op.create_table(
        'spotcheckresult',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('spot_check_id', sa.Integer(), sa.ForeignKey('spotcheck.id'), nullable=False),
        sa.Column('institution_code', _STR(), nullable=False),
        sa.Column('indicator_code', _STR(), nullable=False),
        sa.Column('reported_numerator', sa.Float(), nullable=False),
        sa.Column('reported_denominator', sa.Float(), nullable=False),
        sa.Column('verified_numerator', sa.Float(), nullable=False),
        sa.Column('verified_denominator', sa.Float(), nullable=False),
        sa.Column('discrepancy', _STR(), nullable=False),
        sa.Column('note', _STR(), nullable=False),
        sa.Column('checked_by_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('checked_at', _TS(), nullable=False),
        sa.UniqueConstraint('spot_check_id', 'institution_code', 'indicator_code', name='uq_spot_check_result'),
    )
    op.create_index('ix_spotcheckresult_spot_check_id', 'spotcheckresult', ['spot_check_id'])


def downgrade() -> None:
    op.drop_index('ix_spotcheckresult_spot_check_id', 'spotcheckresult')
    op.drop_table('spotcheckresult')
    op.drop_table('spotcheck')
    op.drop_table('indicatormean')
    op.drop_table('indicatorvalue')
    op.drop_index('ix_indicatordefinition_set_id', 'indicatordefinition')
    op.drop_table('indicatordefinition')
    op.drop_index('ix_indicatorset_specialty', 'indicatorset')
    op.drop_table('indicatorset')
