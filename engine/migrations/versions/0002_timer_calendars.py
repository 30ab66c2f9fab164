"""timers record their calendar version; calendars and schedules are versioned; auto-confirm timers

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.storage.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('checksum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('published_at', engine.storage.models.UTCDateTime(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'version')
    )
    op.create_table('auto_confirm_timers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('calendar', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('calendar_version', sa.Integer(), nullable=True),
    sa.Column('wait_minutes', sa.Float(), nullable=False),
    sa.Column('wait_days', sa.Integer(), nullable=False),
    sa.Column('started_at', engine.storage.models.UTCDateTime(), nullable=False),
    sa.Column('due_at', engine.storage.models.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('stopped_at', engine.storage.models.UTCDateTime(), nullable=True),
    sa.Column('next_check_at', engine.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('work_order_id', 'cycle')
    )
    with op.batch_alter_table('auto_confirm_timers', schema=None) as batch_op:
        batch_op.create_index('ix_auto_confirm_timers_next_check', ['next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auto_confirm_timers_work_order_id'), ['work_order_id'], unique=False)
    with op.batch_alter_table('sla_timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_version', sa.Integer(), nullable=True))
    # Work orders already waiting for feedback get their auto-confirm timers at the next
    # `houqin init`, `serve` or `worker` start (engine.sla.autoconfirm.backfill): that needs their
    # definitions, which a migration does not read.


def downgrade() -> None:
    with op.batch_alter_table('sla_timers', schema=None) as batch_op:
        batch_op.drop_column('calendar_version')
    with op.batch_alter_table('auto_confirm_timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auto_confirm_timers_work_order_id'))
        batch_op.drop_index('ix_auto_confirm_timers_next_check')
    op.drop_table('auto_confirm_timers')
    op.drop_table('data_versions')
