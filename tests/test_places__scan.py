"""Scan to report (扫码报修): a QR code on a device or in a room opens the repair form on a phone with
the device and place filled in (after signing in), and printable sheets of those codes."""
import base64
import re
import struct
import zlib
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from engine.places import labels, locations
from engine.settings import Settings
from engine.storage.models import Asset, User, WorkOrder
from page_support import text_of, visitor
from web import label_sheet, scan


@pytest.fixture
def hospital(api, session):
    api.user("nurse", "requester", department="心内科")
    api.user("tech", "technician", department="后勤保障部")
    api.user("keeper", "logistics", department="后勤保障部")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    fifth = locations.add(session, code="ZY-5F", name="5F", kind="floor", parent=ward)
    room = locations.add(session, code="ZY-5F-512", name="512病房", kind="room", parent=fifth)
    other = locations.add(session, code="ZY-5F-513", name="513病房", kind="room", parent=fifth)
    clinic = locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    when = datetime(2026, 1, 5, tzinfo=timezone.utc)
    devices = [Asset(asset_no="EL-001", name="1号电梯", asset_class="elevator", location_id=ward.id, created_at=when),
               Asset(asset_no="AC-512", name="分体空调", asset_class="hvac", location_id=room.id, created_at=when),
               Asset(asset_no="OLD-7", name="旧电梯", asset_class="elevator", location_id=ward.id, status="retired",
                     created_at=when),
               Asset(asset_no="MZ-PUMP", name="供水泵", asset_class="plumbing", location_id=clinic.id, created_at=when)]
    session.add_all(devices)
    session.commit()
    return {"ward": ward.id, "floor": fifth.id, "room": room.id, "other": other.id, "clinic": clinic.id,
            **{d.asset_no: d.id for d in devices}}


# --- the codes -----------------------------------------------------------------------------------

def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


def test_a_devices_code_is_a_png_of_its_short_scan_url(api, hospital):
    response = api.as_("nurse").get(f"/api/v1/assets/{hospital['EL-001']}/qr.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    url = "http://testserver/s/a/EL-001"  # no HOUQIN_PUBLIC_URL: the request's own base
    assert response.content == scan.png(url)
    assert _png_size(response.content) == scan.code(url).symbol_size(scale=8, border=4)
    assert scan.code(url).is_micro is False  # phone cameras read full-size codes


def test_the_codes_carry_the_public_url_when_one_is_set(api, app, hospital):
    app.state.settings.public_url = "https://houqin.hospital.cn"
    device = api.as_("nurse").get(f"/api/v1/assets/{hospital['EL-001']}/qr.png")
    room = api.as_("nurse").get(f"/api/v1/locations/{hospital['room']}/qr.png")
    assert device.content == scan.png("https://houqin.hospital.cn/s/a/EL-001")
    assert room.content == scan.png("https://houqin.hospital.cn/s/l/ZY-5F-512")


def test_a_scan_path_is_made_of_what_is_printed_and_quoted():
    assert scan.path_for("asset", "EL-001") == "/s/a/EL-001"
    assert scan.path_for("location", "ZY 5F/512") == "/s/l/ZY%205F%2F512"


def test_the_public_url_setting_must_be_an_address_phones_open():
    assert Settings(public_url="https://houqin.hospital.cn/").public_url == "https://houqin.hospital.cn"
    assert Settings(public_url="").public_url == ""
    for wrong in ("houqin.hospital.cn", "ftp://houqin", "https://", "https://h.cn/?a=1"):
        with pytest.raises(ValueError, match="https://houqin.hospital.cn"):
            Settings(public_url=wrong)


def test_a_code_of_nothing_is_404_and_a_code_needs_a_signed_in_user(api, hospital):
    assert api.as_("nurse").get("/api/v1/assets/99999/qr.png").status_code == 404
    assert api.as_("nurse").get("/api/v1/locations/99999/qr.png").status_code == 404
    assert api.as_("nurse").get("/api/v1/assets/0/qr.png").status_code == 422
    assert api.client.get(f"/api/v1/assets/{hospital['EL-001']}/qr.png").status_code == 401


# --- scanning ------------------------------------------------------------------------------------

def test_a_scan_signed_out_goes_through_sign_in_to_the_prefilled_form(app, hospital):
    phone = visitor(app)
    scanned = phone.get("/s/a/EL-001")
    assert scanned.status_code == 303 and scanned.headers["location"] == "/login?next=%2Fs%2Fa%2FEL-001"
    phone.get(scanned.headers["location"])
    signed_in = phone.post("/login", {"username": "nurse", "password": "correct-horse-battery",
                                      "next": "/s/a/EL-001"})
    assert signed_in.headers["location"] == "/s/a/EL-001"
    to_form = phone.get("/s/a/EL-001")
    assert to_form.headers["location"] == f"/submit/repair?asset_id={hospital['EL-001']}"
    form = phone.get(to_form.headers["location"])
    assert form.status_code == 200
    shown = text_of(form.text)
    assert "EL-001 1号电梯" in shown and "本部 / 住院楼" in shown
    assert f'name="asset_id" value="{hospital["EL-001"]}"' in form.text
    assert '<option value="elevator" selected>' in form.text  # the device's class is the fault's category


def test_the_prefilled_form_files_a_report_about_the_device_at_its_place(app, session, hospital):
    phone = visitor(app, "nurse")
    phone.get(f"/submit/repair?asset_id={hospital['AC-512']}")
    sent = phone.post("/submit/repair", {"title": "空调不制冷", "f.category": "hvac", "priority": "normal",
                                         "asset_id": str(hospital["AC-512"])})
    assert sent.status_code == 303, text_of(sent.text)[:500]
    order = session.exec(select(WorkOrder)).one()
    assert (order.asset_id, order.location_id) == (hospital["AC-512"], hospital["room"])
    page = text_of(phone.get(sent.headers["location"]).text)
    assert "AC-512 分体空调" in page and "本部 / 住院楼 / 5F / 512病房" in page


def test_a_rooms_code_fills_in_the_room(app, session, hospital):
    phone = visitor(app, "nurse")
    to_form = phone.get("/s/l/ZY-5F-513")
    assert to_form.headers["location"] == f"/submit/repair?location_id={hospital['other']}"
    assert "本部 / 住院楼 / 5F / 513病房" in text_of(phone.get(to_form.headers["location"]).text)
    sent = phone.post("/submit/repair", {"title": "门锁坏了", "f.category": "building", "priority": "normal",
                                         "location_id": str(hospital["other"])})
    assert sent.status_code == 303
    assert session.exec(select(WorkOrder.location_id)).one() == hospital["other"]


def test_an_unknown_or_retired_device_gets_a_page_that_says_so(app, session, hospital, make_user):
    phone = visitor(app, "nurse")
    unknown = phone.get("/s/a/NOPE-1")
    assert unknown.status_code == 404 and "设备编号 NOPE-1 不在设备台账中" in text_of(unknown.text)
    assert 'href="/submit/repair"' in unknown.text  # the plain form, one tap away
    retired = phone.get("/s/a/OLD-7")
    assert retired.status_code == 410 and "设备 OLD-7 已报废" in text_of(retired.text)
    assert phone.get("/s/l/NOWHERE").status_code == 404
    for odd in ("/s/a/%00", "/s/a/" + "X" * 500, "/s/a/a%2Fb", "/s/l/%E2%80%AE"):
        assert phone.get(odd).status_code == 404, odd
    make_user("visitor", "requester", department="心内科")
    session.exec(select(User).where(User.username == "visitor")).one().language = "en"
    session.commit()
    english = visitor(app, "visitor")
    assert "Asset number NOPE-1 is not in the equipment register" in text_of(english.get("/s/a/NOPE-1").text)


def test_a_form_link_to_a_retired_or_missing_device_still_gives_the_plain_form(app, hospital):
    phone = visitor(app, "nurse")
    page = phone.get(f"/submit/repair?asset_id={hospital['OLD-7']}")
    assert page.status_code == 200 and "不存在或已报废" in text_of(page.text)
    assert 'name="asset_id"' not in page.text
    assert phone.get("/submit/repair?asset_id=abc").status_code == 422  # a mangled link: a page, no 500
    tampered = phone.post("/submit/repair", {"title": "x", "f.category": "hvac", "priority": "normal",
                                             "asset_id": "12abc"})
    assert tampered.status_code == 422 and "设备 0 不存在" in text_of(tampered.text)


# --- the label sheets ----------------------------------------------------------------------------

def _pdf_text(pdf: bytes) -> str:
    """The page contents of a reportlab PDF, unpacked (ASCII85 and Flate)."""
    out = []
    for filters, data in re.findall(rb"/Filter \[([^\]]*)\][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        if b"ASCII85Decode" in filters:
            data = base64.a85decode(data.strip().removesuffix(b"~>"), ignorechars=b" \t\r\n")
        if b"FlateDecode" in filters:
            data = zlib.decompress(data)
        out.append(data.decode("latin-1"))
    return "\n".join(out)


def _numbers(pdf: bytes) -> list[str]:
    return re.findall(r"\(([A-Z]+-[0-9A-Z-]+)\) Tj", _pdf_text(pdf))


def test_a_buildings_label_sheet_has_one_label_per_device_in_it(api, hospital):
    response = api.as_("keeper").get("/api/v1/assets/labels.pdf", params={"location_id": hospital["ward"]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    assert sorted(_numbers(response.content)) == ["AC-512", "EL-001"]  # the room's too; not the retired one
    retired = api.as_("keeper").get("/api/v1/assets/labels.pdf", params={"status": "retired"})
    assert _numbers(retired.content) == ["OLD-7"]
    pumps = api.as_("keeper").get("/api/v1/assets/labels.pdf", params={"asset_class": "plumbing"})
    assert _numbers(pumps.content) == ["MZ-PUMP"]


def test_each_label_carries_its_scan_url(session, hospital):
    chosen = labels.of_assets(session, location_id=hospital["floor"])
    placed = label_sheet.layout(chosen, "https://houqin.hospital.cn")
    assert [(p.label.number, p.label.name, p.label.place, p.url) for p in placed] == [
        ("AC-512", "分体空调", "本部 / 住院楼 / 5F / 512病房", "https://houqin.hospital.cn/s/a/AC-512")]
    many = label_sheet.layout([chosen[0]] * 25, "")
    assert (many[23].page, many[24].page) == (0, 1)  # 24 a page


def test_room_labels_carry_the_rooms_codes(api, hospital):
    response = api.as_("keeper").get("/api/v1/locations/labels.pdf", params={"under": hospital["ward"]})
    assert response.status_code == 200
    assert sorted(_numbers(response.content)) == ["ZY-5F-512", "ZY-5F-513"]


def test_only_admin_and_logistics_print_labels(api, hospital):
    api.user("boss", "admin")
    assert api.as_("tech").get("/api/v1/assets/labels.pdf").status_code == 403
    assert api.as_("nurse").get("/api/v1/locations/labels.pdf").status_code == 403
    assert api.as_("boss").get("/api/v1/assets/labels.pdf").status_code == 200


def test_too_many_labels_or_none_is_a_422_that_says_what_to_do(api, hospital, monkeypatch):
    monkeypatch.setattr(labels, "MAX_LABELS", 2)
    too_many = api.as_("keeper").get("/api/v1/assets/labels.pdf")
    assert too_many.status_code == 422 and "at most 2" in too_many.json()["detail"]
    assert "narrow it" in too_many.json()["detail"]
    assert api.as_("keeper").get("/api/v1/assets/labels.pdf", params={"location_id": hospital["ward"]}).status_code == 200
    for params in ({"location_id": 99999}, {"asset_class": "nothing"}, {"status": "broken"}, {"location_id": "x"}):
        refused = api.as_("keeper").get("/api/v1/assets/labels.pdf", params=params)
        assert refused.status_code == 422, (params, refused.text)
