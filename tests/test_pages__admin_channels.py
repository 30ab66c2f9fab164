"""Admin page: notification channels added, edited, deleted, and failed deliveries sent again."""
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from engine.storage.models import Channel, Outbox
from page_support import text_of, visitor

HOOK = "https://qyapi.weixin.example/cgi-bin/webhook/send?key=abc"


@pytest.fixture
def people(api):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    return api


def _channel(session, name: str) -> Channel | None:
    session.expire_all()
    return session.exec(select(Channel).where(Channel.name == name)).first()


def _wecom(admin, **changes):
    form = {"name": "企业微信-后勤群", "kind": "wecom", "target": HOOK, "kinds": ["assignment", "escalation"],
            "recipients": "", "secret": "", "active": "yes"}
    return {**form, **changes}


def test_the_admin_adds_a_wecom_channel_and_edits_it_keeping_the_secret(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/channels", _wecom(admin, secret="s3cret")))
    words = text_of(page.text)
    assert "已添加通知渠道 企业微信-后勤群" in words
    assert "企业微信" in words and "派单、升级督办" in words and "s3cret" not in page.text
    channel = _channel(session, "企业微信-后勤群")
    assert (channel.kind, channel.target, channel.kinds, channel.secret) == ("wecom", HOOK, "assignment,escalation", "s3cret")

    page = admin.follow(admin.post(f"/admin/channels/{channel.id}",
                                   _wecom(admin, name="后勤值班群", kinds=["warning"], active="")))
    assert "已保存通知渠道 后勤值班群" in text_of(page.text)
    channel = _channel(session, "后勤值班群")
    assert (channel.kinds, channel.active, channel.secret) == ("warning", False, "s3cret")


def test_a_bad_target_is_refused_with_the_apis_message_and_nothing_changes(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/channels", _wecom(admin, target="qyapi.weixin.example/hook")))
    assert "请修改后重试： 机器人或 Webhook 通道需要 http(s) 网址" in text_of(page.text)
    assert _channel(session, "企业微信-后勤群") is None

    admin.follow(admin.post("/admin/channels", _wecom(admin)))
    channel = _channel(session, "企业微信-后勤群")
    page = admin.follow(admin.post(f"/admin/channels/{channel.id}", _wecom(admin, target="ftp://x")))
    assert "机器人或 Webhook 通道需要 http(s) 网址" in text_of(page.text)
    assert _channel(session, "企业微信-后勤群").target == HOOK


def test_an_email_channel_without_recipients_is_refused_like_in_the_api(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/channels", _wecom(admin, name="邮件", kind="email", target="smtp://mail.example:25")))
    assert "邮件通道至少要有一个收件地址" in text_of(page.text)
    page = admin.follow(admin.post("/admin/channels", _wecom(admin, name="邮件", kind="email", target="smtp://mail.example:25",
                                                            recipients="a@hospital.example\nb@hospital.example")))
    assert "已添加通知渠道 邮件" in text_of(page.text)
    assert _channel(session, "邮件").recipients == ["a@hospital.example", "b@hospital.example"]


def test_a_failed_delivery_is_retried_and_the_channel_deleted_with_its_deliveries(app, people, session):
    channel = Channel(name="企业微信-后勤群", kind="wecom", target=HOOK)
    session.add(channel)
    session.flush()
    failed = Outbox(channel_id=channel.id, payload={"title": "RP-2026-000001 漏水"}, status="failed", attempts=5,
                    next_attempt_at=datetime.now(timezone.utc), last_error="HTTP 502 from qyapi", created_at=datetime.now(timezone.utc))
    session.add(failed)
    session.commit()
    channel_id, failed_id = channel.id, failed.id

    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post(f"/admin/deliveries/{failed_id}/retry"))
    assert f"投递 {failed_id} 已重新排队发送" in text_of(page.text)
    session.expire_all()
    assert (session.get(Outbox, failed_id).status, session.get(Outbox, failed_id).attempts) == ("pending", 0)
    page = admin.follow(admin.post(f"/admin/deliveries/{failed_id}/retry"))
    assert f"发送记录 {failed_id} 的状态是 pending；只有发送失败的才能重发" in text_of(page.text)

    page = admin.follow(admin.post(f"/admin/channels/{channel_id}/delete"))
    assert "已删除通知渠道 企业微信-后勤群" in text_of(page.text)
    assert _channel(session, "企业微信-后勤群") is None and session.get(Outbox, failed_id) is None
    page = admin.follow(admin.post(f"/admin/channels/{channel_id}/delete"))
    assert f"找不到通道 {channel_id}" in text_of(page.text)


def test_channel_forms_need_the_csrf_token(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    assert admin.post("/admin/channels", _wecom(admin), csrf=False).status_code == 403
    assert _channel(session, "企业微信-后勤群") is None


def test_a_non_admin_cannot_manage_channels(app, people, session):
    channel = Channel(name="企业微信-后勤群", kind="wecom", target=HOOK)
    session.add(channel)
    session.commit()
    nurse = visitor(app, "nurse")
    assert nurse.post("/admin/channels", _wecom(nurse, name="黑客群")).status_code == 403
    assert nurse.post(f"/admin/channels/{channel.id}", _wecom(nurse, target="https://evil.example/")).status_code == 403
    assert nurse.post(f"/admin/channels/{channel.id}/delete").status_code == 403
    assert _channel(session, "黑客群") is None
    assert _channel(session, "企业微信-后勤群").target == HOOK
