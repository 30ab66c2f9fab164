"""Storage: the database engine and sessions, the stored tables, their migrations, and the unit of work.

State lives in columns, history as appended rows, timers as indexed rows; a
service adds and flushes, and only the owner of a request, sweep step or job
commits (unit_of_work.py).
"""
