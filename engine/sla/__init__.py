"""The SLA clock: business calendars, timers per work order, the indexed sweep, escalation
ladders, lateness, and auto-confirmation of silent requesters.

Every kind of timer is a row with an indexed `next_check_at`; the sweep
(sweep.py) reads only what is due and works each row in its own transaction.
"""
