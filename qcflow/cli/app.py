"""The `qcflow` command: the command groups, the global `--json`, and errors turned into exit codes."""
# No `from __future__ import annotations` in qcflow.cli: Typer reads the annotations at run time,
# and each string costs it an eval (about 12 ms per start).
import sys
from typing import Annotated, Optional

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from qcflow import bootstrap
from qcflow.cli import audit, calendar, cases, centers, deaths, directory, meetings, ops
from qcflow.cli import inspections
from qcflow.cli import indicators
from qcflow.cli import plans, report_build  # noqa: E402  (H1, H2, H6)
from qcflow.cli import orders as orders_cli  # noqa: E402
from qcflow.cli import assessment as assessment_cli  # noqa: E402
from qcflow.cli.output import (EXIT_CONFLICT, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_REFUSED, Output, bad_arguments,
                               fail, json_flag)
from qcflow.core.errors import UserError
from qcflow.services.directory import DirectoryError
from states.rules import Conflict, Refused

app = typer.Typer(name="qcflow", help="医疗质控中心管理平台", add_completion=False, rich_markup_mode=None,
                  pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]})


GlobalJson = Annotated[bool, typer.Option("--json", help="以 JSON 输出（供脚本使用）", callback=json_flag)]


# `demo` runs on the development key; `serve` checks the secrets itself unless it serves the demo.
_CHECKS_ITS_OWN_SECRETS = ("demo", "serve")


@app.callback()
def root(ctx: typer.Context, json_: GlobalJson = False) -> None:
    """医疗质控中心管理平台"""
    if getattr(ctx.obj, "asks_for_help", False):
        return  # help reads no data: it needs no secret (and no database)
    bootstrap.ensure(demo=ctx.invoked_subcommand in _CHECKS_ITS_OWN_SECRETS)  # the composition root, first


app.command("init")(ops.init)
app.add_typer(directory.app, name="directory", help="名录")
app.add_typer(cases.app, name="case", help="事项")
app.add_typer(meetings.app, name="meetings", help="会议和培训")
app.add_typer(deaths.app, name="deaths", help="死亡病例评审")
app.add_typer(indicators.app, name="indicators", help="质控监测指标")
app.add_typer(centers.app, name="center", help="质控中心名册")
app.add_typer(ops.outbox_app, name="outbox", help="发件箱")
app.add_typer(calendar.deadlines_app, name="deadlines", help="期限")
app.command("due")(calendar.due)
app.add_typer(calendar.calendar_app, name="calendar", help="工作日日历")
app.add_typer(ops.flows_app, name="flows", help="Prefect 流程")
app.add_typer(audit.app, name="audit", help="办理记录校验")
app.add_typer(inspections.app, name="inspections", help="督导检查（Y§14(四)、Y§20）")
app.add_typer(orders_cli.app, name="orders", help="责令整改")  # Y§25, Y§26 (issue 9 part B)
app.add_typer(assessment_cli.app, name="assessment", help="年度考核")  # Y§24 (issue 9 part A)
app.add_typer(plans.app, name="plans", help="改进目标工作方案（H1）"); app.add_typer(plans.compendium_app, name="compendium", help="应知应会（H2）"); app.add_typer(report_build.app, name="report", help="年度质量安全报告（H6）")  # noqa: E702
app.command("serve")(ops.serve)
app.command("demo")(ops.demo)


def main(argv: Optional[list[str]] = None) -> int:
    """Run one command; the exit code: 0 done, 2 refused or bad input, 3 conflict, 1 other errors."""
    output = Output()
    args = list(sys.argv[1:] if argv is None else argv)
    output.asks_for_help = "--help" in args or "-h" in args  # click runs the root callback before help
    command = typer.main.get_command(app)
    try:
        with command.make_context("qcflow", args, obj=output) as ctx:
            return command.invoke(ctx) or 0
    except typer.Exit as done:  # --help, or a command that ends early
        return done.exit_code
    except typer.TyperException as err:  # bad arguments
        bad_arguments(err)
        return EXIT_REFUSED
    except Refused as refused:
        fail(output.json, "refused", [str(r) for r in refused.reasons], "操作被拒绝：")
        return EXIT_REFUSED
    except Conflict as conflict:
        fail(output.json, "conflict", [str(conflict)], "操作未执行：")
        return EXIT_CONFLICT
    except DirectoryError as err:
        fail(output.json, "invalid_directory", err.problems, "名录文件有误，未导入任何内容：")
        return EXIT_REFUSED
    except UserError as err:
        fail(output.json, "bad_input", [str(err)], "")
        return EXIT_REFUSED
    except (OperationalError, ProgrammingError) as err:
        hint = "数据库尚未初始化或无法连接，请先运行 `qcflow init` 并检查 QCFLOW_DATABASE_URL"
        fail(output.json, "database", [hint, str(err.orig).splitlines()[0] if err.orig else str(err)], "")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `qcflow case list document | head`
        sys.stderr.close()
        return 0

