"""The glossary page (/glossary) and the `articles` filter: every article code in a page's text
(Y§10, H5, …) becomes an <abbr> whose title says what it stands for, linking to its entry."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from states.glossary import ENTRIES, HENAN, YUEYANG, find_codes
from web.render import page, templates

router = APIRouter()


def articles(text: object) -> Markup:
    """The text, escaped, with each known article code explained on hover and linked to /glossary."""
    text = str(text or "")
    out, last = [], 0
    for start, end, entry in find_codes(text):
        out.append(str(escape(text[last:start])))
        hint = escape(f"{entry.source}：{entry.topic}")
        out.append(f'<a class="article" href="/glossary#{escape(entry.anchor)}"><abbr title="{hint}">'
                   f"{escape(text[start:end])}</abbr></a>")
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


templates.env.filters["articles"] = articles


@router.get("/glossary", response_class=HTMLResponse)
def glossary(request: Request) -> HTMLResponse:
    """What every article code in the platform's messages stands for."""
    groups = [
        ("岳阳市规定（Y§）", YUEYANG, [e for c, e in ENTRIES.items() if c.startswith("Y")]),
        ("河南省“七个一”（H）", HENAN, [e for c, e in ENTRIES.items() if c.startswith("H")]),
        ("其他依据", "", [e for c, e in ENTRIES.items() if not c.startswith(("Y", "H"))]),
    ]
    return page(request, "glossary.html", groups=groups)
