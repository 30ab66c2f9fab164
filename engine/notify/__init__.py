"""Telling people: in-app notifications (and reading them), the reporter's progress, the outside channels (webhook, WeCom, DingTalk,
e-mail), and the outbox that delivers to them after commit, with retries.
"""
