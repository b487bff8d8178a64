"""`qcflow indicators`: the dictionary, values and means, the analysis, guidance tasks, spot checks (H3, Y§14)."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from qcflow.cli.output import EXIT_REFUSED, JsonFlag, as_email, data_file, emit, read_data
from qcflow.engine import person_by_email
from qcflow.services import indicator_checks, indicators
from qcflow.services.indicator_import import import_means, import_values
from qcflow.store.db import unit_of_work
from states.indicator_analysis import fmt_rate
from states.privacy import INDICATOR_AGGREGATES, INDICATOR_INSTITUTIONS

app = typer.Typer()
dictionary_app = typer.Typer()
spotcheck_app = typer.Typer()
app.add_typer(dictionary_app, name="dictionary", help="指标字典")
app.add_typer(spotcheck_app, name="spotcheck", help="数据真实性抽查（Y§14(3)）")

Specialty = Annotated[str, typer.Option("--specialty", help="专业（例如 心血管内科）或质控中心代码（例如 CARD）")]
Year = Annotated[int, typer.Option("--year", help="年份，例如 2026")]


@dictionary_app.command("load")
def dictionary_load(file: Path, json_: JsonFlag = False) -> None:
    """导入某专业某年度的指标字典（YAML）；内容有变化即为新版本，相同内容不重复建版本"""
    with unit_of_work() as session:
        result = indicators.load_dictionary(session, file)
    state = f"新版本 v{result['version']}" if result["new_version"] else f"内容未变，仍为 v{result['version']}"
    emit(json_, result, f"{result['specialty']} {result['year']} 年指标字典：{result['indicators']} 项指标，{state}")


@app.command("import")
def import_(file: Path, specialty: Specialty, actor: as_email("导入人邮箱（本专业质控中心主任、副主任、秘书或医政医管科）"),
            json_: JsonFlag = False) -> int:
    """导入各医疗机构各季度的指标分子、分母（CSV/XLSX；UTF-8、带 BOM 或 GB18030）

    表头：机构代码、指标代码、年份、季度（或 期间，如 2026Q1）、分子、分母。任一行有误则整个文件不导入，
    并列出每个错误的行和列（退出码 2）；重复导入同一文件不会重复计数。"""
    with unit_of_work() as session:
        chosen = indicators.resolve_specialty(session, specialty)
        report = import_values(session, file, chosen, actor)
    emit(json_, report.as_dict(), "\n".join(report.lines()))
    return EXIT_REFUSED if report.refused else 0


@app.command("means")
def means(file: Path,
          specialty: Annotated[Optional[str], typer.Option("--specialty", help="文件中没有“专业”列时使用")] = None,
          json_: JsonFlag = False) -> int:
    """导入全省、全国均值（CSV/XLSX；表头：专业、年份、指标代码、全省均值、全国均值）"""
    with unit_of_work() as session:
        chosen = indicators.resolve_specialty(session, specialty) if specialty else ""
        report = import_means(session, file, chosen)
    emit(json_, {"read": report.read, "stored": report.stored, "errors": [str(e) for e in report.errors]},
         "\n".join(report.lines()))
    return EXIT_REFUSED if report.errors else 0


@app.command("show")
def show(specialty: Specialty, year: Year,
         city: Annotated[Optional[str], typer.Option("--city", help="只看一个地区（市/区县）")] = None,
         level: Annotated[Optional[str], typer.Option("--level", help="只看一个级别：三级、二级、一级、其他")] = None,
         actor: Annotated[Optional[str], typer.Option("--as", metavar="EMAIL",
                                                      help="查看人邮箱；各机构数据仅卫健委和本专业质控中心可见（Y§22）")] = None,
         json_: JsonFlag = False) -> None:
    """指标分析：全市、按地区、按机构级别、按机构（有权限时），与全省、全国均值和目标值比较，同比，未达标者"""
    with unit_of_work(read_only=True) as session:
        chosen = indicators.resolve_specialty(session, specialty)
        person_id = person_by_email(session, actor).id if actor else None
        result = indicators.dashboard(session, person_id, chosen, year, city, level, unnamed=INDICATOR_AGGREGATES)
    emit(json_, result, "\n".join(_lines(result)))


def _lines(result: dict[str, Any]) -> list[str]:
    analysis = result["analysis"]
    head = f"{result['specialty']} {result['year']} 年指标分析"
    if analysis is None:
        return [head + "：暂无数据"]
    scope = "、".join(x for x in (analysis["city"], analysis["level"]) if x)
    lines = [f"{head}（字典 v{analysis['dictionary_version']}，季度 {'、'.join(f'Q{q}' for q in analysis['quarters'])}"
             f"{'，范围：' + scope if scope else ''}）"]
    if result["access"] != INDICATOR_INSTITUTIONS:
        lines.append("（只显示地区和级别汇总；各机构数据仅卫健委医政医管科和本专业质控中心可见，Y§22。"
                     "机构数少于 3 家的分组不显示）")
    for i in analysis["indicators"]:
        unit = i["unit"]
        lines.append(f"\n■ {i['code']} {i['name']}（{i['category_label']}，{i['direction_label']}）")
        lines.append(f"  全部：{fmt_rate(i['rate'], unit)}（{_fraction(i)}）  全省均值 {fmt_rate(i['province_mean'], unit)}"
                     f"  全国均值 {fmt_rate(i['national_mean'], unit)}  目标值 {fmt_rate(i['target'], unit)}"
                     f"  上年 {fmt_rate(i['previous_rate'], unit)}")
        for title, rows, key in (("按地区", i["by_city"], "city"), ("按级别", i["by_level"], "level")):
            lines.append(f"  {title}：" + "；".join(f"{r[key]} {fmt_rate(r['rate'], unit)}（{_fraction(r)}）"
                                                  for r in rows))
        for r in i["by_institution"]:
            lines.append(f"    第{r['rank'] or '-'}名 {r['name']}（{r['city']}，{r['level']}）"
                         f"{fmt_rate(r['rate'], unit)}（{_fraction(r)}）")
        for f in i["flags"]:
            lines.append(f"  ⚑ {f['message']}")
    if result["guidance"]:
        lines.append("\n专项指导任务：")
        lines += [f"  #{g['id']} {g['title']}：{g['state_label']}" for g in result["guidance"]]
    return lines


def _fraction(row: dict[str, Any]) -> str:
    if row.get("withheld"):
        return "机构不足 3 家，不显示"
    return f"{_n(row['numerator'])}/{_n(row['denominator'])}"


def _n(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@app.command("guide")
def guide(specialty: Specialty, year: Year, json_: JsonFlag = False) -> None:
    """按分析结果为每个未达标的机构或地区开启“带着数据”专项指导任务（H3；已开启的不再重复）"""
    with unit_of_work() as session:
        result = indicators.open_guidance(session, indicators.resolve_specialty(session, specialty), year)
    lines = [result["summary"]] + [f"  新开 #{o['case_id']}：{o['message']}" for o in result["opened"]]
    emit(json_, result, "\n".join(lines))


@spotcheck_app.command("draw")
def spotcheck_draw(specialty: Specialty, year: Year, actor: as_email("抽查人邮箱"),
                   size: Annotated[Optional[int], typer.Option("--size", help="抽查机构数（默认 5）")] = None,
                   seed: Annotated[Optional[int], typer.Option("--seed", help="随机种子（默认当天日期；相同种子抽出相同样本）")] = None,
                   json_: JsonFlag = False) -> None:
    """抽取核查数据真实性的机构样本（记录种子和样本，可复现）"""
    with unit_of_work() as session:
        result = indicator_checks.draw(session, indicators.resolve_specialty(session, specialty), year, actor, size, seed)
    emit(json_, result, f"抽查 #{result['id']}：{result['specialty']} {result['year']} 年，"
                        f"从 {result['reporting']} 家上报机构中抽取 {len(result['institutions'])} 家（种子 {result['seed']}）："
                        f"{'、'.join(result['institutions'])}")


@spotcheck_app.command("record")
def spotcheck_record(check_id: Annotated[int, typer.Argument(metavar="id")], actor: as_email("核查人邮箱"),
                     data: data_file("YAML：results: [{institution, indicator, numerator, denominator, note}]"),
                     json_: JsonFlag = False) -> int:
    """记录核查结果；与上报数据的差异超过容差即标记"""
    with unit_of_work() as session:
        result = indicator_checks.record(session, check_id, actor, read_data(data).get("results"))
    emit(json_, result, "\n".join(_check_lines(result)))
    return 0


@spotcheck_app.command("show")
def spotcheck_show(check_id: Annotated[int, typer.Argument(metavar="id")], json_: JsonFlag = False) -> None:
    """查看一次抽查：样本、核查结果、差异"""
    with unit_of_work(read_only=True) as session:
        result = indicator_checks.show(session, check_id)
    emit(json_, result, "\n".join(_check_lines(result)))


def _check_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"抽查 #{result['id']}：{result['specialty']} {result['year']} 年，种子 {result['seed']}，"
             f"样本 {'、'.join(result['institutions'])}；发现差异 {result['discrepancies']} 项"]
    for r in result["results"]:
        mark = f"⚑ {r['discrepancy']}" if r["discrepancy"] else "相符"
        lines.append(f"  {r['institution']} {r['indicator']}：上报 {_n(r['reported'][0])}/{_n(r['reported'][1])}，"
                     f"核查 {_n(r['verified'][0])}/{_n(r['verified'][1])}  {mark}")
    if result["unchecked"]:
        lines.append(f"  尚未核查：{'、'.join(result['unchecked'])}")
    return lines
