"""The one pager macro every paged list uses: links keep the filter, work without JavaScript, and swap
the list with htmx."""

from __future__ import annotations

import re
from pathlib import Path

from jiayuan.web.templating import templates

TEMPLATES = Path(templates.env.loader.searchpath[0])  # type: ignore[union-attr]


def render(query: dict[str, str], page: int, pages: int, target: str | None = "#audit-results") -> str:
    macro = templates.env.get_template("macros/pager.html").module.pager  # type: ignore[attr-defined]
    return str(macro("/console/audit", query, page, pages, target))


def test_middle_page_links_both_ways_with_the_filter() -> None:
    html = render({"q": "刘 莹", "action": "reveal"}, 2, 3)
    links = re.findall(r'href="([^"]+)" hx-get="([^"]+)" hx-target="#audit-results"', html)
    assert [href for href, _ in links] == [
        "/console/audit?action=reveal&amp;q=%E5%88%98+%E8%8E%B9&amp;page=1",
        "/console/audit?action=reveal&amp;q=%E5%88%98+%E8%8E%B9&amp;page=3",
    ]
    assert all(href == get for href, get in links)
    assert "2 / 3" in html and "上一页" in html and "下一页" in html


def test_first_and_last_pages_link_one_way_and_a_single_page_has_no_pager() -> None:
    assert "上一页" not in render({}, 1, 2) and "下一页" in render({}, 1, 2)
    assert "上一页" in render({}, 2, 2) and "下一页" not in render({}, 2, 2)
    assert "pager" not in render({"q": "x"}, 1, 1)


def test_without_a_target_the_links_load_the_whole_page() -> None:
    html = render({}, 2, 3, target=None)
    assert re.findall(r'<a href="([^"]+)">', html) == ["/console/audit?page=1", "/console/audit?page=3"]
    assert "hx-" not in html


def test_no_template_writes_a_pager_of_its_own() -> None:
    own = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if 'class="pager"' in path.read_text(encoding="utf-8") and path.name != "pager.html"
    ]
    assert not own, own
