"""What the engine asks of the use-case layer, registered from above instead of imported upward.

A workflow's pure rules may need facts from outside the case (the directory, the registry), and a
state may set off a named effect (e.g. establishing a center). The services register both here
when `qcflow.services` is imported; the engine only looks them up.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session

from models import Case

# (session, case, the content the rules judge — the step's changes merged —, now)
FactsProvider = Callable[[Session, Case, dict[str, Any], datetime], dict[str, Any]]
Effect = Callable[[Session, Case, datetime], Any]

# (session, content a case is created with or a step's changes) -> the content to store instead
ContentFilter = Callable[[Session, dict[str, Any]], dict[str, Any]]

FACTS: dict[str, FactsProvider] = {}
EFFECTS: dict[str, Effect] = {}
CONTENT: dict[str, ContentFilter] = {}


def provides_facts(kind: str) -> Callable[[FactsProvider], FactsProvider]:
    def register(provider: FactsProvider) -> FactsProvider:
        FACTS[kind] = provider
        return provider
    return register


def effect(name: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn
    return register


def cleans_content(kind: str) -> Callable[[ContentFilter], ContentFilter]:
    """Register what every path into a case of this kind stores instead of the given content (e.g. a
    patient's identity replaced by its keyed hash, Y§22). The filter returns the same dict when it
    changes nothing, and raises Refused when the content may not be stored at all."""
    def register(fn: ContentFilter) -> ContentFilter:
        CONTENT[kind] = fn
        return fn
    return register


def clean_content(session: Session, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    fn = CONTENT.get(kind)
    return fn(session, content) if fn and content else content


def facts_for(session: Session, case: Case, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    provider = FACTS.get(case.kind)
    return provider(session, case, data, now) if provider else {}


def run_effect(name: str, session: Session, case: Case, now: datetime) -> None:
    try:
        fn = EFFECTS[name]
    except KeyError:
        raise LookupError(f"effect {name!r} is not registered; import qcflow.services (the bootstrap does)") from None
    fn(session, case, now)
