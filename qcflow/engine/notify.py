"""A step's notices: who is told, with which link and which due date, as rows written in batches."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

from qcflow.core.clock import utcnow
from qcflow.engine import deadlines
from qcflow.engine.outbox import (
    Recipient, holders_of, message_domain, outbox_row, people, people_by_email, write_rows,
)
from qcflow.store.links import UNTIL_DUE, LinkSigner, last_until, write_links
from qcflow.store.raw import Raw
from states import privacy
from states.rules import PastEvent
from states.workflow import Notify, Workflow


class Notifier:
    def __init__(self, raw: Raw, workflow: Workflow, case: Any, history: list[PastEvent], now: datetime):
        self.raw, self.workflow, self.case, self.history, self.now = raw, workflow, case, history, now
        # Mail and links live in real time even when a sweep runs "as of" another day.
        self.sent_at = utcnow()
        self.number = ""  # a document number assigned in this run
        self._due: list[datetime] = []  # deadlines opened in this run
        self._links: list[dict[str, Any]] = []
        self._rows: list[dict[str, Any]] = []
        self._signer: Optional[LinkSigner] = None
        self._domain = ""

    def opened(self, opened: list[deadlines.Opened]) -> None:
        self._due.extend(o.due_at for o in opened)

    def notify(self, notices: Iterable[Notify], extra: Optional[dict[str, Any]] = None) -> int:
        notices = list(notices)
        if not notices:
            return 0
        extra = extra or {}
        context = {**self.base_context(due_date=extra.get("due_date")), **extra}
        count = 0
        for notice in notices:
            excluded = self._excluded(notice.exclude) if notice.exclude else (set(), set())
            for person in self.resolve(notice.to):
                if person.person_id in excluded[0] or person.email in excluded[1]:
                    continue
                self.add(person, notice.template, context, notice.purpose)
                count += 1
        return count

    def add(self, person: Recipient, template: str, context: dict[str, Any], purpose: str) -> None:
        if self._signer is None:
            self._signer, self._domain = LinkSigner.from_settings(), message_domain()
        case = self.case
        url, link = self._signer.new(case.id, case.version, case.round, person.email, person.person_id,
                                     purpose, self.sent_at)
        if purpose == "act":  # a task link lasts at least until its step's deadline (qcflow.store.links)
            if self._due:
                last_until(link, max(self._due))
            elif self._deadline_may_apply():
                link[UNTIL_DUE] = True
        self._links.append(link)
        # A mail asking the person to act may be held for the daily digest (qcflow.engine.outbox.write_rows).
        self._rows.append(outbox_row(person, template, {**context, "link": url}, case.id, self.sent_at,
                                     self._domain, task=purpose == "act"))

    def base_context(self, due_date: Optional[str] = None) -> dict[str, Any]:
        workflow, case = self.workflow, self.case
        context = {
            # Y§22: a private case is named by its number only; the details stay behind the link.
            "case_title": case.title if privacy.titled_for_its_recipients(workflow.kind, workflow.private)
            else f"{workflow.label} #{case.id}",
            "kind_label": workflow.label,
            "state_label": workflow.state_label(case.state),
            "due_date": self._due_label() if due_date is None else due_date,
            "step_label": "",
            "_center_id": case.center_id,  # names filled in at delivery (qcflow.services.mail.enrich)
        }
        if self.number:
            context["doc_number"] = self.number
        context["case_ref"] = self.case_ref()
        return context

    def case_ref(self) -> str:
        """What tells one case's mails from another's in a mailbox: the document number once issued,
        else the kind and number ("公文 #12"). A private case's title already is its kind and number."""
        if self.number:
            return self.number
        titled = privacy.titled_for_its_recipients(self.workflow.kind, self.workflow.private)
        return f"{self.workflow.label} #{self.case.id}" if titled else ""

    def _due_label(self) -> str:
        if self._due:
            return deadlines.due_label(min(self._due))
        if self._deadline_may_apply():
            return deadlines.open_due_label(self.raw, self.case.id)  # opened by an earlier step
        return ""

    def _deadline_may_apply(self) -> bool:
        return any(s.applies(self.case.state, self.case.data) for s in self.workflow.deadlines)

    def _excluded(self, spec: str) -> tuple[set[Optional[int]], set[str]]:
        kind, _, arg = spec.partition(":")
        if kind == "actor_of":
            return {self._last_actor(arg)} - {None}, set()
        if kind == "creator":
            return {self.case.created_by_id} - {None}, set()
        found = self.resolve(spec)
        return {p.person_id for p in found}, {p.email for p in found}

    def _last_actor(self, trigger: str) -> Optional[int]:
        return next((e.actor_id for e in reversed(self.history) if e.trigger == trigger), None)

    def resolve(self, to: str) -> list[Recipient]:
        """Who `to` names for this case (see states.workflow.Notify)."""
        case, raw = self.case, self.raw
        kind, _, arg = to.partition(":")
        if kind == "creator":
            return people(raw, [case.created_by_id])
        if kind == "role":
            return holders_of(raw, [arg])
        if kind == "center":
            return holders_of(raw, arg.split(","), case.center_id, any_center=False)
        if kind == "actor_of":
            return people(raw, [self._last_actor(arg)])
        if kind == "assigned":
            return people_by_email(raw, case.data.get("reviewers", []))
        if kind == "pending_experts":
            votes = case.data.get("votes", {})
            return [p for p in people_by_email(raw, case.data.get("experts", [])) if str(p.person_id) not in votes]
        if kind == "host_leaders":  # Y§16, Y§27: the leaders of a host unit (the case's field, else the center's host)
            code = case.data.get(arg) if arg else None
            sql = ("SELECT DISTINCT p.id, p.email, p.name FROM person p JOIN roleassignment r ON r.person_id = p.id "
                   "JOIN institution i ON i.id = p.institution_id WHERE r.role = 'host_leader' AND "
                   + ("i.code = ?" if arg else "i.id = (SELECT host_institution_id FROM center WHERE id = ?)"))
            return [Recipient(e, n, i) for i, e, n in raw.rows(sql + " ORDER BY p.id", [code if arg else case.center_id])]
        if kind == "recipients":
            return [Recipient(str(r["email"]).lower(), str(r["name"]), None) for r in case.data.get("recipients", [])]
        raise ValueError(f"unknown recipient spec {to!r}")

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The link and outbox rows not yet written (a batch writes many notifiers' rows at once)."""
        taken = self._links, self._rows
        self._links, self._rows = [], []
        return taken

    def flush(self) -> None:
        links, rows = self.take()
        write_links(self.raw, links)
        write_rows(self.raw, rows)
