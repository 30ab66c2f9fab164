"""The process designer: errors at their lines, publishing a version, diffs; running work stays on its version."""
import html
import re

import pytest

from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("designer", "designer", department="信息中心")
    api.user("nurse", "requester", department="心内科")
    return api


def _repair_yaml(app) -> str:
    page = visitor(app, "designer").get("/designer/repair").text
    start = page.index('data-validate="/api/v1/processes/validate">') + len('data-validate="/api/v1/processes/validate">')
    return html.unescape(page[start:page.index("</textarea>", start)])


def test_the_designer_lists_each_process_with_its_version(app, people):
    words = text_of(visitor(app, "designer").get("/designer").text)
    for key in ("repair", "procurement", "hazard", "complaint"):
        assert key in words
    assert "v1" in words


@pytest.mark.parametrize("language, heading", [("zh", "发布时间"), ("en", "Published")])
def test_the_designer_list_heads_its_columns_with_words_and_leaves_no_placeholder(app, people, language, heading):
    designer = visitor(app, "designer")
    designer.post("/language", {"language": language})
    page = designer.get("/designer").text
    headings = [text_of(cell).strip() for cell in re.findall(r"<th>(.*?)</th>", page)]
    assert heading in headings and "" not in headings  # each column says what it holds
    assert not re.search(r"\{\w*\}|TODO|lorem", text_of(page), re.I)


def test_a_broken_definition_is_refused_with_its_error_at_its_line(app, people):
    text = _repair_yaml(app)
    line = text.splitlines().index("    to: accepted") + 1
    broken = text.replace("    to: accepted", "    to: acepted", 1)
    designer = visitor(app, "designer")
    designer.get("/designer/repair")
    response = designer.post("/designer/publish", {"yaml": broken, "key": "repair"})
    assert response.status_code == 422
    assert f'data-line="{line}"' in response.text and "acepted" in text_of(response.text)
    assert "to: acepted" in response.text  # the text is kept for fixing
    assert [v["version"] for v in people.as_("designer").get("/api/v1/processes/repair").json()["versions"]] == [1]


def test_the_editor_checks_through_the_api_as_the_designer_types(app, people):
    designer = visitor(app, "designer")
    designer.get("/designer/repair")
    broken = _repair_yaml(app).replace("number_prefix: RP", "number_prefix: rp")
    result = designer.client.post("/api/v1/processes/validate", content=broken.encode(),
                                  headers={"Content-Type": "application/yaml", "X-CSRF-Token": designer.token}).json()
    assert result["valid"] is False and result["errors"][0]["line"] == 8


def test_publishing_a_change_makes_a_new_version_and_running_orders_stay_on_theirs(app, people):
    running = people.new_order("nurse")
    changed = _repair_yaml(app).replace("label: {zh: 派单, en: Assign}", "label: {zh: 分派, en: Dispatch}")
    designer = visitor(app, "designer")
    designer.get("/designer/repair")
    page = designer.follow(designer.post("/designer/publish", {"yaml": changed, "key": "repair"}))
    assert "已发布 repair 第 2 版" in text_of(page.text)
    assert people.new_order("nurse")["definition_version"] == 2
    assert people.as_("nurse").get(f"/api/v1/workorders/{running['id']}").json()["definition_version"] == 1

    diff = designer.get("/designer/repair/diff").text
    assert '<span class="del">-    label: {zh: 派单, en: Assign}</span>' in diff
    assert '<span class="add">+    label: {zh: 分派, en: Dispatch}</span>' in diff
    same = designer.follow(designer.post("/designer/publish", {"yaml": changed, "key": "repair"}))
    assert "内容没有变化" in text_of(same.text)


def test_a_new_process_starts_from_a_skeleton_that_publishes(app, people):
    designer = visitor(app, "designer")
    page = designer.get("/designer/new").text
    assert "定义有效" in text_of(page)
    start = page.index('data-validate="/api/v1/processes/validate">') + len('data-validate="/api/v1/processes/validate">')
    skeleton = html.unescape(page[start:page.index("</textarea>", start)])
    response = designer.post("/designer/publish", {"yaml": skeleton.replace("new_process", "lost_property")})
    assert response.headers["location"] == "/designer/lost_property"


def test_a_new_choice_is_labelled_in_the_yaml_and_every_page_says_it(app, people):
    """Choice labels belong to the definition: a designer adds one with its label, and no code changes."""
    lift = "      - {value: lift_car, label: {zh: 电梯轿厢, en: Lift car}}\n"
    changed = _repair_yaml(app).replace("      - {value: building,", lift + "      - {value: building,", 1)
    designer = visitor(app, "designer")
    designer.get("/designer/repair")
    assert "已发布 repair 第 2 版" in text_of(designer.follow(designer.post("/designer/publish",
                                                                       {"yaml": changed, "key": "repair"})).text)
    nurse = visitor(app, "nurse")
    form = nurse.get("/submit/repair").text
    assert '<option value="lift_car"' in form and "电梯轿厢" in text_of(form)
    order = people.new_order("nurse", fields={"category": "lift_car"})
    assert "电梯轿厢" in text_of(nurse.get(f"/orders/{order['id']}").text)
    nurse.post("/language", {"language": "en", "next": "/inbox"})
    assert "Lift car" in text_of(nurse.get(f"/orders/{order['id']}").text)


def test_a_choice_written_wrong_is_refused_at_its_line(app, people):
    broken = _repair_yaml(app).replace("      - {value: plumbing, label: {zh: 给排水, en: Plumbing}}",
                                       "      - {value: plumbing, label: {zh: 给排水}}", 1)
    line = broken.splitlines().index("      - {value: plumbing, label: {zh: 给排水}}") + 1
    result = people.as_("designer").post("/api/v1/processes/validate", content=broken.encode(),
                                         headers={"Content-Type": "application/yaml"}).json()
    assert result["valid"] is False
    [problem] = result["errors"]
    assert problem["line"] == line and "label of choice 'plumbing'" in problem["message"]


@pytest.mark.parametrize("language, said", [("zh", "“soon”不是时长"), ("en", "'soon' is not a duration")])
def test_a_bad_duration_is_said_in_the_designers_chosen_language(app, people, language, said):
    text = _repair_yaml(app)
    broken = text.replace("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: soon, calendar: 24x7}", 1)
    line = broken.splitlines().index("      urgent: {within: soon, calendar: 24x7}") + 1
    designer = visitor(app, "designer")
    designer.post("/language", {"language": language})
    designer.get("/designer/repair")
    response = designer.post("/designer/publish", {"yaml": broken, "key": "repair"})
    assert response.status_code == 422
    assert f'data-line="{line}"' in response.text and said in html.unescape(text_of(response.text))
