"""sign-in: revocable sessions, forced password changes, directory users

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.storage.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('password_changed_at', engine.storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('auth_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='local'))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('auth_source')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('auth_epoch')
