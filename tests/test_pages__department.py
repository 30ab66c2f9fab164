"""My department's list: its pager keeps the filters the user chose."""
import re

import pytest

from page_support import text_of, visitor
from web.pages import queues


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    return api


def test_the_next_page_keeps_the_search_and_the_choice_of_all_departments(app, people, monkeypatch):
    monkeypatch.setattr(queues, "PAGE", 2)
    for n in range(5):
        people.new_order("nurse", title=f"灯不亮 {n}")
    people.new_order("nurse", title="水龙头漏水")
    dispatcher = visitor(app, "dispatcher")
    page = dispatcher.get("/department?q=灯不亮&department=").text
    assert "共 5 张工单" in text_of(page) and "第 1 / 3 页" in text_of(page)
    following = re.search(r'<nav class="pager">.*?href="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    second = dispatcher.get("/department" + following).text
    assert "第 2 / 3 页" in text_of(second)
    assert len(re.findall(r"灯不亮 \d", text_of(second))) == 2 and "水龙头漏水" not in text_of(second)
    assert "department=&" in following  # still every department, not the dispatcher's own
