"""Houqin's runtime: work orders moving through their published processes, on the clock.

It knows nothing of HTTP (web/ sits on top) and reads its language from
workflows/. One package per concern:
- storage/    the database, tables, migrations, and the unit of work that commits
- published/  process definitions, calendars and schedules, by version
- orders/     creating work orders, firing events, feedback, comments, attachments,
              visibility, the boards people work from, recurring work
- sla/        calendars, timers, the indexed sweep, escalation, lateness, auto-confirmation
- notify/     in-app notifications, outside channels, the outbox
- reports/    the cockpit, the month's workbook, the risk ledger
- people/     users, roles, departments, teams
"""
