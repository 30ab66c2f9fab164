"""Telling people: in-app notifications, the outside channels (webhook, WeCom, DingTalk,
e-mail), and the outbox that delivers to them after commit, with retries.
"""
