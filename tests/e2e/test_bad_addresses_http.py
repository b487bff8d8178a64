"""Addresses a person may type or a scanner may try: a clear Chinese page, never JSON or a traceback."""
from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.db


@pytest.mark.parametrize("path", ["/cases/document/abc", "/cases/document/99999999999", "/cases/document/2147483648",
                                  "/cases/document/-1", "/new/application/abc/materials"])
def test_a_number_in_the_address_that_is_not_one_gets_a_chinese_page(site, path):
    base, _ = site
    answer = httpx.get(base + path, follow_redirects=True)
    assert answer.status_code in (401, 403, 404), (path, answer.status_code)
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.text and '"detail"' not in answer.text
    assert "页面不存在" in answer.text or "登录" in answer.text
