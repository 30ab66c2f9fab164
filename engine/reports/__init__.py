"""The figures: the cockpit (dashboard.py), the month's workbook, the risk ledger, and the
periods they are counted over. Reads only; nothing here changes a work order.
"""
