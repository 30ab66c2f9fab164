"""The equipment register (设备台账): devices added one by one or from an .xlsx sheet (all rows or none,
each bad row named), exported as a sheet that imports again, reports from a device taking its place and
category, routing by the device's class to its own team, and the equipment file's errors by line."""
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from engine.dispatch import rotas
from engine.places import locations
from engine.published import definitions
from engine.storage.models import Asset, Team, WorkOrder
from web.cli import main as houqin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["资产编号", "名称", "类别", "位置编码", "责任科室", "班组", "型号", "厂家", "供应商", "维保单位",
          "启用日期", "保修截止", "状态"]


@pytest.fixture
def hospital(api, session):
    api.user("admin", "admin")
    api.user("keeper", "logistics", department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    for floor in range(1, 6):
        locations.add(session, code=f"ZY-{floor}F", name=f"{floor}F", kind="floor", parent=ward)
    locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    session.commit()
    return {"campus": campus.id, "ward": ward.id}


def sheet(rows: list[list], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api, user: str, data: bytes):
    return api.as_(user).post("/api/v1/assets/import", files={"file": ("台账.xlsx", data, XLSX)})


def device_rows(count: int) -> list[list]:
    kinds = ["电梯", "infusion_pump", "冷水机组", "autoclave"]
    return [[f"DEV-{n:04d}", f"设备{n}", kinds[n % 4], f"ZY-{n % 5 + 1}F", "设备科", "电梯班" if n % 4 == 0 else None,
             "M-1", "厂家甲", None, "维保公司", date(2024, 1, 1 + n % 28), "2029-12-31", "在用" if n % 3 else "维修中"]
            for n in range(count)]


def test_two_hundred_devices_import_from_a_sheet_and_list_by_building_and_class(api, hospital):
    response = upload(api, "keeper", sheet(device_rows(200)))
    assert response.status_code == 200, response.text
    assert response.json() == {"added": 200}
    listing = api.as_("nurse").get("/api/v1/assets", params={"location_id": hospital["ward"], "limit": 200}).json()
    assert listing["total"] == 200
    lift = next(item for item in listing["items"] if item["asset_no"] == "DEV-0000")
    assert lift["asset_class"] == "elevator" and lift["team"] == "电梯班" and lift["department"] == "设备科"
    assert lift["place"] == "本部 / 住院楼 / 1F" and lift["status"] == "under_repair"
    assert lift["warranty_end"] == "2029-12-31"
    lifts = api.as_("nurse").get("/api/v1/assets", params={"asset_class": "elevator", "team": "电梯班"}).json()
    assert lifts["total"] == 50
    assert api.as_("nurse").get("/api/v1/assets", params={"q": "设备19"}).json()["total"] == 11  # 19, 190-199


def test_a_sheet_with_two_bad_rows_imports_nothing_and_names_both(api, hospital, session):
    rows = device_rows(5)
    rows[1][2] = "微波炉"  # row 3: no such class
    rows[3][3] = "NOWHERE"  # row 5: no such place
    response = upload(api, "keeper", sheet(rows))
    assert response.status_code == 422, response.text
    messages = [error["message"] for error in response.json()["errors"]]
    assert any(m.startswith("row 3:") and "微波炉" in m for m in messages)
    assert any(m.startswith("row 5:") and "NOWHERE" in m for m in messages)
    assert len(messages) == 2
    assert session.exec(select(Asset)).all() == []
    assert api.as_("keeper").get("/api/v1/assets").json()["total"] == 0


def test_english_headers_import_and_a_number_twice_is_refused(api, hospital):
    english = ["asset_no", "name", "class", "location_code", "status"]
    ok = upload(api, "admin", sheet([["EL-9", "9号电梯", "elevator", "ZY", "retired"]], english))
    assert ok.status_code == 200, ok.text
    again = upload(api, "admin", sheet([["EL-8", "8号电梯", "Elevator", "ZY", None], ["EL-9", "重复", "elevator", None, None]],
                                       english))
    assert again.status_code == 422
    assert [(e["row"], e["field"], e["code"]) for e in again.json()["errors"]] == [(3, "asset_no", "asset_no_taken")]


def test_an_export_imports_again_as_it_was(api, hospital, session):
    assert upload(api, "keeper", sheet(device_rows(12))).status_code == 200
    exported = api.as_("nurse").get("/api/v1/assets/export.xlsx")
    assert exported.status_code == 200 and exported.headers["content-type"] == XLSX
    book = load_workbook(BytesIO(exported.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1][2] == "电梯" and rows[1][12] == "维修中"  # labels, never keys
    before = api.as_("nurse").get("/api/v1/assets", params={"limit": 200}).json()["items"]
    for device in session.exec(select(Asset)).all():
        session.delete(device)
    session.commit()
    assert upload(api, "keeper", exported.content).status_code == 200
    after = api.as_("nurse").get("/api/v1/assets", params={"limit": 200}).json()["items"]
    strip = [{k: v for k, v in item.items() if k != "id"} for item in before]
    assert [{k: v for k, v in item.items() if k != "id"} for item in after] == strip


def test_one_device_is_added_with_a_new_team_and_checked(api, hospital):
    body = {"asset_no": "CH-01", "name": "1号冷水机组", "asset_class": "chiller", "location_code": "ZY",
            "team": "冷站班", "commissioned_on": "2025-05-01"}
    added = api.as_("admin").post("/api/v1/assets", json=body)
    assert added.status_code == 201, added.text
    assert added.json()["team"] == "冷站班" and added.json()["place"] == "本部 / 住院楼"
    twice = api.as_("admin").post("/api/v1/assets", json={**body, "asset_class": "toaster"})
    assert twice.status_code == 422
    fields = {e["field"] for e in twice.json()["errors"]}
    assert fields == {"asset_no", "asset_class"}


def test_only_admins_and_logistics_change_the_register(api, hospital):
    body = {"asset_no": "EL-1", "name": "1号电梯", "asset_class": "elevator"}
    assert api.as_("nurse").post("/api/v1/assets", json=body).status_code == 403
    assert upload(api, "nurse", sheet(device_rows(1))).status_code == 403
    assert api.as_("nurse").get("/api/v1/assets").status_code == 200
    assert api.as_("keeper").get("/api/v1/assets").json()["total"] == 0
    classes = api.as_("nurse").get("/api/v1/equipment/classes").json()
    assert {"value": "elevator", "label": {"zh": "电梯", "en": "Elevator"}, "category": "elevator"} in classes["classes"]
    assert classes["repeat_fault"] == {"failures": 3, "within": "90d"}


def test_a_report_from_a_device_takes_its_place_and_category(api, hospital):
    pump = api.as_("keeper").post("/api/v1/assets", json={
        "asset_no": "IP-7", "name": "输液泵7", "asset_class": "infusion_pump", "location_code": "ZY-5F"}).json()
    order = api.new_order("nurse", title="输液泵报警", fields={}, asset_id=pump["id"])
    assert order["location_id"] == pump["location_id"] and order["place"] == "本部 / 住院楼 / 5F"
    assert order["fields"]["category"] == "medical_equipment"
    chosen = api.new_order("nurse", title="输液泵漏电", fields={"category": "electrical"}, asset_id=pump["id"])
    assert chosen["fields"]["category"] == "electrical"  # what the reporter chose stands


def test_a_rule_on_the_device_class_routes_to_the_devices_own_team(api, hospital, session, test_clock):
    text = Path(definitions.__file__).resolve().parents[2].joinpath("definitions", "repair.yaml").read_text(encoding="utf-8")
    text = text.replace("  rules:\n", "  rules:\n"
                        "    - {name: chillers, when: {asset_class: [chiller]}, team: asset, strategy: pool}\n"
                        "    - {name: lifts, when: {asset_class: [elevator]}, team: 电梯班, strategy: pool}\n", 1)
    definitions.publish(session, text, now=test_clock.now())
    rotas.ensure_team(session, "电梯班")
    session.commit()
    for body in ({"asset_no": "CH-1", "name": "1号冷水机组", "asset_class": "chiller", "team": "冷站班"},
                 {"asset_no": "CH-2", "name": "2号冷水机组", "asset_class": "chiller"},
                 {"asset_no": "EL-1", "name": "1号电梯", "asset_class": "elevator", "team": "冷站班"}):
        assert api.as_("keeper").post("/api/v1/assets", json=body).status_code == 201
    ids = {a.asset_no: a.id for a in session.exec(select(Asset)).all()}
    teams = {t.id: t.name for t in session.exec(select(Team)).all()}

    def routed_to(asset_no: str) -> str | None:
        order = api.new_order("nurse", title="故障", fields={}, asset_id=ids[asset_no])
        session.expire_all()
        return teams.get(session.get(WorkOrder, order["id"]).team_id)

    assert routed_to("CH-1") == "冷站班"  # the device's own team
    assert routed_to("CH-2") is None  # no team of its own: the next rules (hvac → 空调班, not set up here)
    assert routed_to("EL-1") == "电梯班"  # the class's rule names its team


def test_a_default_rule_cannot_send_to_the_devices_team(session, test_clock):
    from workflows import DefinitionError, load_definition

    text = Path(definitions.__file__).resolve().parents[2].joinpath("definitions", "repair.yaml").read_text(encoding="utf-8")
    bad = text.replace("  default: {strategy: manual}", "  default: {strategy: pool, team: asset}")
    with pytest.raises(DefinitionError) as caught:
        load_definition(bad, "repair.yaml")
    assert any("team: asset" in p.message for p in caught.value.problems)


def test_a_bad_equipment_file_names_its_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "equipment.yaml"
    path.write_text("classes:\n"
                    "  - {value: elevator, label: {zh: 电梯, en: Elevator}, category: elevator}\n"
                    "  - {value: Chiller, label: {zh: 冷水机组, en: Chiller}}\n"
                    "  - {value: elevator, label: {zh: 扶梯, en: Escalator}, category: teleport}\n"
                    "repeat_fault: {failures: 3, within: soon}\n", encoding="utf-8")
    assert houqin(["equipment", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:3:" in out and "lower_snake_case" in out
    assert f"{path}:5:" in out and "within" in out
    monkeypatch.setenv("HOUQIN_EQUIPMENT", str(path))
    assert houqin(["equipment", "check"]) == 1
    path.write_text("classes:\n  - {value: elevator, label: {zh: 电梯, en: Elevator}, category: elevator}\n"
                    "  - {value: elevator, label: {zh: 扶梯, en: Escalator}, category: teleport}\n", encoding="utf-8")
    assert houqin(["equipment", "check"]) == 1
    out = capsys.readouterr().out
    assert f"{path}:3:" in out and "declared twice" in out and "teleport" in out
    assert houqin(["equipment", "check", "definitions/equipment.yaml"]) == 0


def test_the_register_page_lists_adds_and_imports_in_the_readers_language(app, hospital):
    from page_support import text_of, visitor

    keeper = visitor(app, "keeper")
    assert "/assets" in keeper.get("/submit").text  # in the menu
    added = keeper.follow(keeper.post("/assets", {"asset_no": "EL-2", "name": "2号电梯", "asset_class": "elevator",
                                                  "location_code": "ZY-2F", "team": "电梯班"}))
    page = text_of(added.text)
    assert "EL-2" in page and "电梯" in page and "本部 / 住院楼 / 2F" in page
    assert 'href="/assets/' in added.text  # the device's own page
    refused = text_of(keeper.follow(keeper.post("/assets", {"asset_no": "EL-2", "name": "again",
                                                            "asset_class": "elevator"})).text)
    assert "已在台账中" in refused
    imported = keeper.follow(keeper.post("/assets/import", files={"file": ("a.xlsx", sheet(device_rows(3)), XLSX)}))
    assert "3" in text_of(imported.text) and "DEV-0002" in imported.text
    keeper.post("/language", {"language": "en"})
    english = text_of(keeper.get("/assets", params={"asset_class": "elevator"}).text)
    assert "Equipment register" in english and "Elevator" in english and "DEV-0001" not in english
    nurse = visitor(app, "nurse")
    assert nurse.get("/assets").status_code == 403


def test_a_schedule_naming_a_class_the_equipment_file_lacks_is_refused_at_its_line(tmp_path, capsys):
    shipped = Path("definitions/schedules.yaml").read_text(encoding="utf-8")
    assert "assets: {class: elevator}" in shipped
    path = tmp_path / "schedules.yaml"
    path.write_text(shipped.replace("assets: {class: elevator}", "assets: {class: elevatr}"), encoding="utf-8")
    assert houqin(["schedules", "check", str(path)]) == 1
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "elevatr" in text)
    out = capsys.readouterr().out
    assert f"{path}:{line}:" in out and "elevatr" in out and "elevator" in out
    assert houqin(["schedules", "check", "definitions/schedules.yaml"]) == 0
