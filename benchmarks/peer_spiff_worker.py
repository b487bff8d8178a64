"""Peer benchmark worker: the document approval as a SpiffWorkflow 3.2 BPMN process, persisted to SQLite.

    <spiff venv>/bin/python benchmarks/peer_spiff_worker.py [--seconds 10] [--max-lifecycles 300] [--variants a,b]

Started by peer_spiff.py with the python of a separate venv that has SpiffWorkflow (qcflow is not
importable there, nor needed). Process: draft (start) → submit → approve → sign (user tasks) → issue
(script task, takes the next document number from SQLite) → issued (end). Each user step is one
transaction: complete the ready user task with who acted and a comment, run engine steps, serialize,
UPDATE the workflow row + INSERT a history row, COMMIT (WAL, synchronous=NORMAL). Per lifecycle:
3 transactions (submit, approve, sign+issue) counted as 4 transitions, as
benchmarks/case_transitions_sqlite.py counts ours. Creating the workflow with the document's data
is not timed (ours times only fire()).

Variants, interleaved one lifecycle each so machine noise hits all alike, one SQLite file each:
  stock   serializer.serialize_json(workflow): the whole workflow, spec included, every step
  tuned   the spec is stored once in its own table; each step serializes only the instance state
  *_reload  the same, but each step first SELECTs and deserializes the workflow, as a request
            handler would (ours loads the case from the database in every fire())
Prints one JSON line: {"stock_steps_per_s": ..., "tuned_steps_per_s": ..., "steps": ..., ...}.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

from SpiffWorkflow import TaskState, __version__ as spiff_version
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter

PROCESS_ID = "document_approval"
STEPS = (("submit", "secretary@card.qingchuan.example"), ("approve", "reviewer@wjw.qingchuan.example"),
         ("sign", "leader@wjw.qingchuan.example"))
TRANSITIONS_PER_LIFECYCLE = 4  # submit, approve, sign, issue
DOCUMENT = {"center": "CARD", "doc_kind": "meeting_notice", "title": "关于召开心血管病质控工作会议的通知",
            "body": "各成员单位：定于12月10日上午9:00召开心血管病质控中心工作会议，请准时参会。" * 3,
            "recipients": [{"name": "青川市中心医院医务科", "email": "yiwu@qch2.qingchuan.example"}]}


def _node(tag: str, id_: str, body: str = "") -> str:
    return f'<bpmn:{tag} id="{id_}" name="{id_}">{body}</bpmn:{tag}>'


NODES = ([_node("startEvent", "draft")] + [_node("userTask", step) for step, _ in STEPS]
         + [_node("scriptTask", "issue", "<bpmn:script>doc_number = next_number()</bpmn:script>"),
            _node("endEvent", "issued")])
ORDER = ["draft", *(step for step, _ in STEPS), "issue", "issued"]
FLOWS = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
         for i, (a, b) in enumerate(zip(ORDER, ORDER[1:]))]
BPMN = (f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" '
        f'targetNamespace="qcflow-bench"><bpmn:process id="{PROCESS_ID}" isExecutable="true">'
        f'{"".join(NODES + FLOWS)}</bpmn:process></bpmn:definitions>')

SCHEMA = """
CREATE TABLE spec (name TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE workflow (id INTEGER PRIMARY KEY, spec_name TEXT, state TEXT NOT NULL);
CREATE TABLE history (id INTEGER PRIMARY KEY, workflow_id INTEGER NOT NULL, step TEXT NOT NULL,
                      actor TEXT NOT NULL, comment TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE doc_counter (value INTEGER NOT NULL);
INSERT INTO doc_counter VALUES (0);
"""


class InstanceOnlyConverter(BpmnWorkflowConverter):
    """BpmnWorkflow ⇄ dict without the spec: the dict names the spec, restored from `specs` (loaded once)."""
    specs: dict[str, tuple] = {}  # spec name -> (spec, subprocess_specs)

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)  # data and task tree only, not the spec
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):  # BpmnWorkflowConverter.from_dict with the spec from the cache
        spec, subprocess_specs = self.specs[dct.pop("spec_name")]
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class Variant:
    def __init__(self, name: str, directory: Path, spec, subprocess_specs, tuned: bool, reload: bool):
        self.name, self.tuned, self.reload = name, tuned, reload
        self.step_seconds, self.lifecycles, self.bytes_written = 0.0, 0, 0
        self.db = sqlite3.connect(directory / f"{name}.db", isolation_level=None)  # explicit BEGIN/COMMIT
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.engine = PythonScriptEngine(environment=TaskDataEnvironment({"next_number": self.next_number}))
        if tuned:
            self.serializer = BpmnWorkflowSerializer(
                BpmnWorkflowSerializer.configure({**DEFAULT_CONFIG, BpmnWorkflow: InstanceOnlyConverter}))
            spec_json = json.dumps({"spec": self.serializer.to_dict(spec), "subprocess_specs": {
                name: self.serializer.to_dict(sub) for name, sub in subprocess_specs.items()}})
            self.db.execute("INSERT INTO spec VALUES (?, ?)", (spec.name, spec_json))  # once
            stored = json.loads(self.db.execute("SELECT json FROM spec WHERE name = ?", (spec.name,)).fetchone()[0])
            InstanceOnlyConverter.specs[spec.name] = (
                self.serializer.from_dict(stored["spec"]),
                {k: self.serializer.from_dict(v) for k, v in stored["subprocess_specs"].items()})
            self.spec, self.subprocess_specs = InstanceOnlyConverter.specs[spec.name]
        else:
            self.serializer = BpmnWorkflowSerializer()
            self.spec, self.subprocess_specs = spec, subprocess_specs

    def next_number(self) -> int:  # called by the issue script, inside the sign transaction
        return self.db.execute("UPDATE doc_counter SET value = value + 1 RETURNING value").fetchone()[0]

    def save(self, workflow_id: int, workflow: BpmnWorkflow) -> None:
        state = self.serializer.serialize_json(workflow)
        self.bytes_written += len(state)
        self.db.execute("UPDATE workflow SET state = ? WHERE id = ?", (state, workflow_id))

    def load(self, workflow_id: int) -> BpmnWorkflow:
        state = self.db.execute("SELECT state FROM workflow WHERE id = ?", (workflow_id,)).fetchone()[0]
        workflow = self.serializer.deserialize_json(state)
        workflow.script_engine = self.engine
        return workflow

    def lifecycle(self, i: int, timed: bool = True) -> None:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.engine)
        workflow.do_engine_steps()  # draft: waits at the submit user task
        workflow.get_next_task(state=TaskState.READY, manual=True).data["document"] = DOCUMENT
        self.db.execute("BEGIN")
        workflow_id = self.db.execute("INSERT INTO workflow (spec_name, state) VALUES (?, '')",
                                      (self.spec.name,)).lastrowid
        self.save(workflow_id, workflow)
        self.db.execute("COMMIT")
        for step, actor in STEPS:
            t0 = time.perf_counter()
            self.db.execute("BEGIN")
            if self.reload:
                workflow = self.load(workflow_id)
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert task.task_spec.name == step, (task.task_spec.name, step)
            comment = f"{step} of document {i}"
            task.data.update({f"{step}_by": actor, f"{step}_comment": comment})
            task.run()
            workflow.do_engine_steps()  # after sign: the issue script task runs here
            self.save(workflow_id, workflow)
            self.db.execute("INSERT INTO history (workflow_id, step, actor, comment, at) VALUES (?, ?, ?, ?, ?)",
                            (workflow_id, step, actor, comment, float(i)))
            self.db.execute("COMMIT")
            if timed:
                self.step_seconds += time.perf_counter() - t0
        assert workflow.is_completed() and workflow.data["doc_number"] == i + 1, workflow.data
        if timed:
            self.lifecycles += 1

    def check(self) -> None:
        """The stored JSON restores to completed workflows, numbered 1..n without gaps."""
        numbers = []
        for (workflow_id,) in self.db.execute("SELECT id FROM workflow ORDER BY id").fetchall():
            workflow = self.load(workflow_id)
            assert workflow.is_completed(), f"{self.name}: workflow {workflow_id} not completed"
            numbers.append(workflow.data["doc_number"])
        assert numbers == list(range(1, len(numbers) + 1)), f"{self.name}: numbers {numbers[:5]}..."
        self.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time, all variants (default 10)")
    parser.add_argument("--max-lifecycles", type=int, default=300, help="per variant (default 300)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed lifecycles per variant first (default 5)")
    parser.add_argument("--variants", default="stock,tuned,stock_reload,tuned_reload",
                        help="comma-separated subset to run (default all four)")
    args = parser.parse_args()
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]

    bpmn = BpmnParser()
    bpmn.add_bpmn_str(BPMN.encode("utf-8"), "document_approval.bpmn")
    spec, subprocess_specs = bpmn.get_spec(PROCESS_ID), bpmn.get_subprocess_specs(PROCESS_ID)
    with tempfile.TemporaryDirectory(prefix="qcflow-bench-spiff-") as tmp:
        variants = [Variant(name, Path(tmp), spec, subprocess_specs, tuned, reload)
                    for name, tuned, reload in (("stock", False, False), ("tuned", True, False),
                                                ("stock_reload", False, True), ("tuned_reload", True, True))
                    if name in wanted]
        for i in range(args.warmup):
            for v in variants:
                v.lifecycle(i, timed=False)
        started = time.perf_counter()
        while variants[0].lifecycles < args.max_lifecycles and time.perf_counter() - started < args.seconds:
            for v in variants:
                v.lifecycle(args.warmup + v.lifecycles)
        wall = time.perf_counter() - started
        for v in variants:
            v.check()

    n = variants[0].lifecycles
    result = {f"{v.name}_steps_per_s": round(n * TRANSITIONS_PER_LIFECYCLE / v.step_seconds, 1) for v in variants}
    result.update({f"{v.name}_bytes_per_save": round(v.bytes_written / ((n + args.warmup) * 4)) for v in variants})
    result.update({"steps": n * TRANSITIONS_PER_LIFECYCLE, "transactions": n * len(STEPS), "lifecycles": n,
                   "wall_s": round(wall, 2), "spiff_version": spiff_version, "python": sys.version.split()[0]})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
