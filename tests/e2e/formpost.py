"""Submit a page's form as a browser does: open the page, keep its cookies, send back its hidden
fields (the CSRF token and the version the page showed), follow the redirect after the POST."""
from __future__ import annotations

import re
from typing import Optional

import httpx

HIDDEN = re.compile(r'<input type="hidden" name="(csrf|version)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: value for name, value in HIDDEN.findall(html)}


def post(url: str, data: Optional[dict[str, str]] = None, *, client: Optional[httpx.Client] = None,
         follow: bool = True, **overrides: str) -> httpx.Response:
    """GET `url`, then POST `data` with the page's hidden fields (`overrides` replace them, e.g.
    version="abc"); the answer after the redirect, unless follow=False."""
    own = client is None
    client = client or httpx.Client()
    try:
        shown = client.get(url)
        form = {**hidden_fields(shown.text), **(data or {}), **overrides}
        return client.post(url, data=form, follow_redirects=follow)
    finally:
        if own:
            client.close()
