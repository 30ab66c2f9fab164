"""Photos from the pages: attached when reporting or at any later step, refused when they are not photos."""
import re

import pytest

from page_support import text_of, visitor

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x22" * 500
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def people(api, tmp_path, monkeypatch):
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("tech", "technician", department="后勤保障部")
    return api


def _report(nurse, photo):
    form = {"title": "水龙头漏水", "f.category": "plumbing", "priority": "normal", "csrf_token": nurse.token}
    response = nurse.client.post("/submit/repair", data=form, files={"photo": photo}, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return int(re.fullmatch(r"/orders/(\d+)", response.headers["location"]).group(1)), nurse.follow(response)


def test_a_photo_taken_when_reporting_is_on_the_work_order_as_a_download(app, people):
    nurse = visitor(app, "nurse")
    order_id, page = _report(nurse, ("现场.png", PNG, "image/png"))
    [link] = re.findall(r'<a href="(/api/v1/attachments/\d+)" download>现场.png</a>', page.text)
    download = nurse.client.get(link)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"].startswith("attachment")
    assert visitor(app, "nurse2").client.get(link).status_code == 404  # another department's photo


def test_a_page_posing_as_a_photo_is_refused_but_the_report_stands(app, people):
    nurse = visitor(app, "nurse")
    order_id, page = _report(nurse, ("photo.png", HTML, "image/png"))
    words = text_of(page.text)
    assert "已提交" in words and "只能上传以下类型的文件：JPEG、PNG、WebP、HEIC、PDF" in words
    assert "暂无附件" in words
    assert people.as_("nurse").get(f"/api/v1/workorders/{order_id}/attachments").json() == []


def test_the_technician_adds_a_photo_at_a_later_step(app, people):
    nurse = visitor(app, "nurse")
    order_id, _ = _report(nurse, ("", b"", "application/octet-stream"))
    tech = visitor(app, "tech")
    tech.get(f"/orders/{order_id}")
    response = tech.client.post(f"/orders/{order_id}/attachments", data={"csrf_token": tech.token},
                                files={"file": ("完工.png", PNG, "image/png")}, follow_redirects=False)
    page = tech.follow(response)
    assert "已上传 完工.png" in text_of(page.text) and "上传附件" in text_of(page.text)
