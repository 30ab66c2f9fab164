"""What designers publish, by version: process definitions, calendars and schedules.

A published text is never edited; a running work order or timer keeps the
version it started on, and each version is compiled once and cached.
"""
