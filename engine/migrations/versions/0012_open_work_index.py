"""open work oldest first: a partial index of the open work orders by creation, for the inbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_orders_open_created', 'work_orders', ['created_at', 'id'], unique=False,
                    sqlite_where=sa.text('closed = 0'), postgresql_where=sa.text('closed = false'))


def downgrade() -> None:
    op.drop_index('ix_work_orders_open_created', table_name='work_orders')
