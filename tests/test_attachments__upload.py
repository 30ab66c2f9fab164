"""Photos and files on a work order: checked by their bytes, size-limited, always downloaded, never shown."""
import pytest

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 500
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x22" * 500
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
HEIC = (24).to_bytes(4, "big") + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x33" * 100
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def order(api, tmp_path, monkeypatch, test_clock):
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api, api.new_order("nurse", title="病房水龙头漏水")


def upload(api, who, order_id, content, filename="photo.jpg", declared="image/jpeg", expect=201, **form):
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/attachments",
                                 files={"file": (filename, content, declared)}, data=form)
    assert response.status_code == expect, response.text
    return response.json()


def stored_files(tmp_path):
    return [p for p in (tmp_path / "files").rglob("*") if p.is_file()]


def test_a_photo_is_attached_listed_on_the_timeline_and_downloaded_as_a_file(order, tmp_path):
    api, made = order
    shown = upload(api, "nurse", made["id"], JPEG, filename="现场照片.jpg", comment="漏水位置")
    assert (shown["filename"], shown["content_type"], shown["size"]) == ("现场照片.jpg", "image/jpeg", len(JPEG))

    assert [a["id"] for a in api.as_("tech").get(f"/api/v1/workorders/{made['id']}/attachments").json()] == [shown["id"]]
    history = api.as_("nurse").get(f"/api/v1/workorders/{made['id']}").json()["history"]
    [line] = [h for h in history if h["kind"] == "attachment"]
    assert line["actor"] == "nurse" and line["comment"] == "漏水位置"
    assert line["data"] == {"attachment_id": shown["id"], "filename": "现场照片.jpg", "content_type": "image/jpeg",
                            "size": len(JPEG)}

    response = api.as_("tech").get(shown["url"])
    assert response.status_code == 200 and response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg"
    assert response.headers["x-content-type-options"] == "nosniff"
    [on_disk] = stored_files(tmp_path)
    assert "." not in on_disk.name and "现场" not in str(on_disk)  # a random name, no extension


def test_photos_and_pdf_are_accepted_at_any_step_by_whoever_works_on_the_order(order):
    api, made = order
    api.fire("dispatcher", made["id"], "assign", assignee="tech")
    api.fire("tech", made["id"], "accept")
    assert upload(api, "tech", made["id"], PNG, "before.png", "image/png")["content_type"] == "image/png"
    assert upload(api, "tech", made["id"], HEIC, "IMG_0001.HEIC", "image/heic")["content_type"] == "image/heic"
    assert upload(api, "dispatcher", made["id"], PDF, "配件单.pdf", "application/pdf")["content_type"] == "application/pdf"
    webp = b"RIFF" + (100).to_bytes(4, "little") + b"WEBPVP8 " + b"\x44" * 100
    assert upload(api, "nurse", made["id"], webp, "x.webp", "image/webp")["content_type"] == "image/webp"
    assert len(api.as_("nurse").get(f"/api/v1/workorders/{made['id']}/attachments").json()) == 4


def test_the_type_comes_from_the_bytes_not_from_the_name_or_the_declared_type(order, tmp_path):
    api, made = order
    body = upload(api, "nurse", made["id"], HTML, "photo.jpg", "image/jpeg", expect=415)
    assert "only JPEG, PNG, WebP, HEIC, PDF files can be attached" in body["detail"]
    upload(api, "nurse", made["id"], b"MZ\x90\x00" + b"\x00" * 100, "setup.exe", "application/octet-stream", expect=415)
    assert stored_files(tmp_path) == []
    # A real PNG named and declared as a web page is kept as the PNG it is.
    shown = upload(api, "nurse", made["id"], PNG, "page.html", "text/html")
    assert (shown["filename"], shown["content_type"]) == ("page.png", "image/png")
    assert api.as_("nurse").get(shown["url"]).headers["content-type"] == "image/png"


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(order, tmp_path, monkeypatch):
    api, made = order
    monkeypatch.setenv("HOUQIN_MAX_ATTACHMENT_MB", "0.001")  # 1048 bytes
    assert "larger than 0.001 MB" in upload(api, "nurse", made["id"], JPEG * 3, expect=413)["detail"]
    upload(api, "nurse", made["id"], JPEG * 300, expect=413)  # refused by its Content-Length, unread
    upload(api, "nurse", made["id"], JPEG[:1000])
    assert len(stored_files(tmp_path)) == 1
    history = api.as_("nurse").get(f"/api/v1/workorders/{made['id']}").json()["history"]
    assert len([h for h in history if h["kind"] == "attachment"]) == 1


def test_an_empty_or_missing_file_says_what_to_send(order):
    api, made = order
    assert upload(api, "nurse", made["id"], b"", expect=422)["detail"] == "the file is empty"
    response = api.as_("nurse").post(f"/api/v1/workorders/{made['id']}/attachments", data={"comment": "照片"})
    assert response.status_code == 422 and "'file'" in response.json()["detail"]


def test_someone_who_cannot_see_the_order_gets_404_for_its_files(order):
    api, made = order
    shown = upload(api, "nurse", made["id"], JPEG)
    upload(api, "nurse2", made["id"], JPEG, expect=404)
    assert api.as_("nurse2").get(f"/api/v1/workorders/{made['id']}/attachments").status_code == 404
    assert api.as_("nurse2").get(shown["url"]).status_code == 404
    assert api.as_("nurse").get("/api/v1/attachments/999999").status_code == 404
    upload(api, "nurse", 999999, JPEG, expect=404)
