"""The location tree (位置): imported from a spreadsheet or a CSV file all or nothing, listed in tree order,
offered on the report form, and filtering the risk ledger by any level of the tree."""
import io

import pytest
from openpyxl import Workbook

from page_support import text_of, visitor

pytest_plugins = ["ledger_data"]  # the `ledger` fixture: three hazards

TREE = [  # a campus, two buildings, floors and rooms; a room listed before its floor
    ("编码", "名称", "类型", "上级编码"),
    ("HQ", "本部", "院区", ""),
    ("ZY", "住院楼", "楼栋", "HQ"),
    ("ZY-5F-512", "512病房", "房间", "ZY-5F"),
    ("ZY-5F", "5F", "楼层", "ZY"),
    ("ZY-6F", "6F", "floor", "ZY"),
    ("MZ", "门诊楼", "building", "HQ"),
    ("MZ-1F", "1F", "楼层", "MZ"),
]


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_text(rows, bom=True) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(",".join(row) for row in rows).encode("utf-8")


def upload(api, who, data: bytes, name="places.xlsx"):
    return api.as_(who).post("/api/v1/locations/import", files={"file": (name, data)})


@pytest.fixture
def people(api):
    api.user("admin1", "admin")
    api.user("nurse", "requester", department="心内科")
    return api


def tree(api, who="nurse", **query):
    response = api.as_(who).get("/api/v1/locations", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_three_level_tree_imports_from_an_xlsx_sheet_parents_first_whatever_the_order(people):
    response = upload(people, "admin1", xlsx(TREE))
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 7, "by_kind": {"campus": 1, "building": 2, "floor": 3, "room": 1, "area": 0}}
    nodes = tree(people)
    by_code = {node["code"]: node for node in nodes}
    assert by_code["ZY-5F-512"]["full_name"] == "本部 / 住院楼 / 5F / 512病房"
    assert (by_code["ZY-5F-512"]["kind"], by_code["ZY-5F-512"]["depth"]) == ("room", 3)
    assert by_code["ZY-5F-512"]["parent_id"] == by_code["ZY-5F"]["id"]
    order = [node["code"] for node in nodes]
    assert order[0] == "HQ" and order.index("ZY") < order.index("ZY-5F") < order.index("ZY-5F-512")


def test_a_csv_file_with_english_headers_adds_to_the_stored_tree(people):
    assert upload(people, "admin1", xlsx(TREE)).status_code == 201
    rows = [("code", "name", "kind", "parent_code"), ("ZY-5F-ICU", "重症监护区", "区域", "ZY-5F"),
            ("ZY-7F", "7F", "floor", "ZY")]
    for bom in (True, False):
        response = upload(people, "admin1", csv_text(rows, bom), "more.csv")
        if bom:
            assert response.status_code == 201, response.text
            assert response.json()["created"] == 2
        else:  # the same codes again: refused, named by row
            assert response.status_code == 422
            assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(2, "code"), (3, "code")]
    icu = tree(people, q="icu")
    assert [node["full_name"] for node in icu] == ["本部 / 住院楼 / 5F / 重症监护区"]


def test_a_file_with_two_bad_rows_imports_nothing_and_names_both_rows(people):
    bad = TREE[:3] + [("ZY-5F", "5F", "楼", "ZY"), ("ZY-5F-512", "512病房", "房间", "NOWHERE")] + TREE[5:]
    response = upload(people, "admin1", xlsx(bad))
    assert response.status_code == 422, response.text
    problems = response.json()["errors"]
    assert [(p["row"], p["field"], p["code"]) for p in problems] == [
        (4, "kind", "kind"), (5, "parent_code", "parent_unknown")]
    assert "row 4" in response.json()["detail"] and "row 5" in response.json()["detail"]
    assert tree(people) == []


def test_a_file_that_is_no_spreadsheet_or_has_no_header_is_refused(people):
    for data, name in ((b"\xff\xfe\x00garbage", "x.csv"), (b"PK\x03\x04broken", "x.xlsx"),
                       (csv_text([("a", "b"), ("1", "2")]), "x.csv")):
        response = upload(people, "admin1", data, name)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "file"
    assert tree(people) == []


def test_only_an_admin_adds_or_imports_places(people):
    assert upload(people, "nurse", xlsx(TREE)).status_code == 403
    refused = people.as_("nurse").post("/api/v1/locations", json={"code": "HQ", "name": "本部", "kind": "campus"})
    assert refused.status_code == 403
    assert tree(people) == []


def test_an_admin_adds_a_node_and_bad_input_names_the_field(people):
    admin = people.as_("admin1")
    campus = admin.post("/api/v1/locations", json={"code": "HQ", "name": "本部", "kind": "院区"})
    assert campus.status_code == 201, campus.text
    ward = admin.post("/api/v1/locations", json={"code": "ZY", "name": "住院楼", "kind": "building", "parent_code": "HQ"})
    assert ward.json()["full_name"] == "本部 / 住院楼" and ward.json()["parent_id"] == campus.json()["id"]
    for body, field in (({"code": "X", "name": "x", "kind": "castle"}, "kind"),
                        ({"code": "HQ", "name": "again", "kind": "campus"}, "code"),
                        ({"code": "Y", "name": "y", "kind": "floor", "parent_code": "NOPE"}, "parent_code"),
                        ({"code": "Z", "name": "z", "kind": "floor", "parent_id": 99999}, "parent_id")):
        response = admin.post("/api/v1/locations", json=body)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]
    assert len(tree(people)) == 2


def test_the_list_under_a_building_gives_its_floors_and_rooms(people):
    upload(people, "admin1", xlsx(TREE))
    ward = next(node for node in tree(people) if node["code"] == "ZY")
    assert [node["code"] for node in tree(people, under=ward["id"])] == ["ZY", "ZY-5F", "ZY-5F-512", "ZY-6F"]
    assert [node["code"] for node in tree(people, under=ward["id"], kind="floor")] == ["ZY-5F", "ZY-6F"]
    assert people.as_("nurse").get("/api/v1/locations", params={"under": 99999}).status_code == 422


def test_the_command_imports_a_file_or_names_its_bad_rows(db_url, tmp_path, capsys):
    from web.cli import main

    bad, good = tmp_path / "bad.csv", tmp_path / "good.xlsx"
    bad.write_bytes(csv_text(TREE[:3] + [("ZY-5F", "5F", "楼", "ZY")]))
    good.write_bytes(xlsx(TREE))
    assert main(["locations", "import", str(bad), "--db", db_url]) == 1
    assert "row 4: kind '楼'" in capsys.readouterr().err
    assert main(["locations", "import", str(good), "--db", db_url]) == 0
    assert "imported 7 locations" in capsys.readouterr().out
    assert main(["locations", "import", str(good), "--db", db_url]) == 1  # the codes exist now


def test_the_admin_page_imports_a_file_and_shows_each_bad_row_in_the_users_language(app, people):
    admin = visitor(app, "admin1")
    page = admin.get("/admin")
    assert 'href="/admin/locations"' in page.text
    bad = TREE[:3] + [("ZY-5F", "5F", "楼", "ZY")] + TREE[4:]
    refused = admin.post("/admin/locations/import", files={"file": ("places.xlsx", xlsx(bad))})
    assert refused.status_code == 422
    assert "第 4 行" in text_of(refused.text) and "楼" in text_of(refused.text)
    done = admin.follow(admin.post("/admin/locations/import", files={"file": ("places.xlsx", xlsx(TREE))}))
    shown = text_of(done.text)
    assert "已导入 7 个位置" in shown and "512病房" in shown and "ZY-5F-512" in shown
    added = admin.follow(admin.post("/admin/locations", {"code": "ZY-6F-601", "name": "601病房", "kind": "room",
                                                         "parent_code": "ZY-6F"}))
    assert "601病房" in text_of(added.text)
    assert visitor(app, "nurse").get("/admin/locations").status_code == 403


def test_the_report_form_offers_the_places_and_a_report_through_it_stores_the_place(app, people):
    upload(people, "admin1", xlsx(TREE))
    nurse = visitor(app, "nurse")
    form = nurse.get("/submit/repair")
    assert '<option value="本部 / 住院楼 / 5F / 512病房"' in form.text
    sent = nurse.post("/submit/repair", {"title": "床头灯不亮", "place": "本部 / 住院楼 / 5F / 512病房",
                                         "location": "靠窗第二张床", "priority": "normal", "f.category": "electrical"})
    page = nurse.follow(sent)
    assert "本部 / 住院楼 / 5F / 512病房" in text_of(page.text) and "靠窗第二张床" in text_of(page.text)
    order = people.as_("nurse").get("/api/v1/workorders").json()["items"][0]
    room = next(node for node in tree(people) if node["code"] == "ZY-5F-512")
    assert (order["location_id"], order["location"]) == (room["id"], "靠窗第二张床")
    unknown = nurse.post("/submit/repair", {"title": "漏水", "place": "火星", "priority": "normal",
                                            "f.category": "plumbing"})
    assert unknown.status_code == 422 and "没有这个地点" in text_of(unknown.text)
    assert people.as_("nurse").get("/api/v1/workorders").json()["total"] == 1


def test_the_department_list_filters_by_a_place_and_everything_under_it(app, people):
    upload(people, "admin1", xlsx(TREE))
    nodes = {node["code"]: node["id"] for node in tree(people)}
    people.new_order("nurse", title="病房灯不亮", location_id=nodes["ZY-5F-512"])
    people.new_order("nurse", title="门诊漏水", location_id=nodes["MZ-1F"])
    nurse = visitor(app, "nurse")
    shown = text_of(nurse.get("/department", params={"place": "本部 / 住院楼"}).text)
    assert "病房灯不亮" in shown and "门诊漏水" not in shown
    assert "病房灯不亮" not in text_of(nurse.get("/department", params={"place": "火星"}).text)


def test_the_ledger_filtered_by_a_building_includes_its_rooms(ledger):
    api, made = ledger
    api.user("admin1", "admin")
    upload(api, "admin1", xlsx(TREE))
    nodes = {node["code"]: node["id"] for node in tree(api, "boss")}
    in_room = api.new_order("inspector", "hazard", title="病房插座冒烟", location_id=nodes["ZY-5F-512"],
                            fields={"category": "fire", "risk_level": "high"})
    api.new_order("inspector", "hazard", title="门诊灭火器过期", location_id=nodes["MZ-1F"],
                  fields={"category": "fire", "risk_level": "high"})
    listed = api.as_("boss").get("/api/v1/ledger", params={"location_id": nodes["ZY"]})
    assert listed.status_code == 200, listed.text
    assert [(row["id"], row["place"]) for row in listed.json()["items"]] == [
        (in_room["id"], "本部 / 住院楼 / 5F / 512病房")]
    assert "place" in [column["key"] for column in listed.json()["columns"]]
    export = api.as_("boss").get("/api/v1/ledger/export", params={"format": "csv", "location_id": nodes["ZY"]})
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "本部 / 住院楼 / 5F / 512病房" in lines[1]
    assert api.as_("boss").get("/api/v1/ledger", params={"location_id": 99999}).status_code == 422
