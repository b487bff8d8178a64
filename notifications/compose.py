"""Render an email from its templates: a plain-text part (first line is the subject) and an HTML part.

Strict about missing variables: a template that names something the caller did not pass fails
loudly in tests rather than mailing a blank.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@lru_cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.txt") if not p.stem.startswith("_"))


def compose(name: str, **context: Any) -> Email:
    env = _env()
    text = env.get_template(f"{name}.txt").render(**context)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {name}.txt must start with 'Subject:'")
    html = env.get_template(f"{name}.html").render(**context)
    return Email(subject=first.removeprefix("Subject:").strip(), text=rest.lstrip("\n"), html=html)
