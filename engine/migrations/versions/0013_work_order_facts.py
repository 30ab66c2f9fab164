"""work-order facts: reached its feedback state, missed a deadline, and each step's labour, kept as work moves

The cockpit counted these by looking into every work order's history and timers
(a million lookups over a million work orders); now each is written with the step
that makes it true. Existing rows are filled in here from what they already hold:
the feedback state and the labour field each process names in its newest
published version, and the timers that ended late.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

work_orders = sa.table('work_orders', sa.column('id', sa.Integer), sa.column('process', sa.String),
                       sa.column('reached_feedback', sa.Boolean), sa.column('deadline_missed', sa.Boolean))
history = sa.table('history', sa.column('work_order_id', sa.Integer), sa.column('kind', sa.String),
                   sa.column('to_state', sa.String), sa.column('data', sa.JSON),
                   sa.column('labour_minutes', sa.Float))
timers = sa.table('sla_timers', sa.column('work_order_id', sa.Integer), sa.column('status', sa.String),
                  sa.column('breached', sa.Boolean))
definitions = sa.table('definitions', sa.column('key', sa.String), sa.column('version', sa.Integer),
                       sa.column('yaml_text', sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reached_feedback', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('deadline_missed', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('labour_minutes', sa.Float(), nullable=True))
    _fill_in()
    op.create_index('ix_history_labour', 'history', ['work_order_id', 'actor_id', 'labour_minutes'], unique=False,
                    sqlite_where=sa.text('labour_minutes IS NOT NULL'),
                    postgresql_where=sa.text('labour_minutes IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_history_labour', table_name='history')
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_column('labour_minutes')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_column('deadline_missed')
        batch_op.drop_column('reached_feedback')


def _fill_in() -> None:
    """The facts of the rows already stored, as the cockpit counted them until now."""
    op.execute(work_orders.update().where(sa.exists().where(
        timers.c.work_order_id == work_orders.c.id, sa.or_(timers.c.breached == sa.true(), timers.c.status == 'breached')))
        .values(deadline_missed=True))
    for key, declared in _newest_definitions().items():
        feedback, labour = (declared.get('feedback') or {}).get('state'), (declared.get('reporting') or {}).get('labour_field')
        of_process = sa.select(work_orders.c.id).where(work_orders.c.process == key)
        if feedback:
            op.execute(work_orders.update().where(work_orders.c.process == key, sa.exists().where(
                history.c.work_order_id == work_orders.c.id, history.c.to_state == feedback,
                history.c.kind.in_(('create', 'transition')))).values(reached_feedback=True))
        if labour:
            # A plain number of at most 16 characters, as the cockpit read them: nothing a CAST could fail on.
            written = history.c.data[('fields', labour)].as_string()
            plain = sa.and_(sa.func.length(written) <= 16, written.regexp_match(r'^-?[0-9]+(\.[0-9]+)?$'))
            op.execute(history.update().where(history.c.kind == 'transition', history.c.work_order_id.in_(of_process),
                                              plain).values(labour_minutes=history.c.data[('fields', labour)].as_float()))


def _newest_definitions() -> dict[str, dict]:
    """Each process's newest published YAML, parsed (a file that no longer parses contributes nothing)."""
    newest, reader = {}, YAML(typ='rt')  # the reader definitions are published with (workflows/bounded_yaml.py)
    for key, version, text in op.get_bind().execute(sa.select(definitions.c.key, definitions.c.version,
                                                              definitions.c.yaml_text).order_by(definitions.c.version)):
        try:
            declared = reader.load(text)
        except YAMLError:
            continue
        if isinstance(declared, dict):
            newest[key] = declared
    return newest
