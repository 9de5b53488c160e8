"""Loading evaluation models (config/evaluation/*.yaml): everything the issue lists is checked at load time and
reported with the file, the line and the reason in Chinese; one broken model stops loading."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from xinyong.catalog.service import config_dir, get_catalog
from xinyong.core import conditions as cond
from xinyong.core.errors import NotFound
from xinyong.evaluation import grades
from xinyong.evaluation.schemas import EvaluationModel, Indicator
from xinyong.lists.config import get_list_types
from xinyong.lists.yamlconf import ConfigError, display, line_of, node_at, parse, validate, yaml_files

WHAT = "评价模型"
ORG_KINDS = ("legal_person", "individual_business", "other_org")
NUMERIC_TYPES = ("decimal", "integer", "number", "money")
BUILTIN_FACTS = {
    "score": cond.Fact("score", "评价得分", "number"),
    "grade": cond.Fact("grade", "评价等级", "text"),
    "black_lists": cond.Fact("black_lists", "在列失信惩戒名单数", "number"),
    "red_lists": cond.Fact("red_lists", "在列守信激励名单数", "number"),
}


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: EvaluationModel
    path: str
    overrides: tuple[tuple[str, str, cond.Condition], ...]  # (id, grade, condition) in application order

    @property
    def id(self) -> str:
        return self.model.id


def facts_of(model: EvaluationModel) -> dict[str, cond.Fact]:
    facts = dict(BUILTIN_FACTS)
    for leaf, _budget, _names in model.leaves():
        facts[leaf.id] = cond.Fact(leaf.id, f"{leaf.name}（{_AGG_LABEL.get(leaf.aggregate or '', '')}）", "number")
    return facts


_AGG_LABEL = {"exists": "有无", "count": "次数", "sum": "合计", "latest": "最近一次"}


class _Problems:
    def __init__(self, root: yaml.Node, path: Path) -> None:
        self.root, self.shown, self.items = root, display(path), list[tuple[int, str]]()

    def add(self, loc: tuple[str | int, ...], text: str) -> None:
        self.items.append((line_of(node_at(self.root, loc)), text))

    def raise_if_any(self) -> None:
        if self.items:
            self.items.sort()
            raise ConfigError("\n".join(f"{WHAT} {self.shown} 第{line}行：{text}" for line, text in self.items),
                              path=self.shown, line=self.items[0][0])


def load_model(path: Path) -> LoadedModel:
    root, data = parse(path, WHAT)
    model = validate(EvaluationModel, root, data, path, WHAT)
    p = _Problems(root, path)
    if model.id != path.stem:
        p.add(("id",), f"模型代码 id “{model.id}”与文件名“{path.name}”不一致")
    for i, kind in enumerate(model.subject_kinds):
        if kind == "natural_person":
            p.add(("subject_kinds", i), "自然人不参与公共信用综合评价（见 DESIGN.md），请删除 natural_person")
        elif kind not in ORG_KINDS:
            p.add(("subject_kinds", i), f"未知的主体类型“{kind}”，可选：{'、'.join(ORG_KINDS)}")
    if not model.min_score <= model.base_score <= model.max_score:
        p.add(("base_score",), f"基础分 {model.base_score:g} 须在最低分 {model.min_score:g} 与最高分 {model.max_score:g} 之间")
    _check_tree(model.indicators, ("indicators",), p, set())
    _check_bands(model, p)
    grades_known = set(model.grade_order)
    for g, _ in model.measures.items():
        if g not in grades_known:
            p.add(("measures", g), f"措施所列等级“{g}”不在等级 bands 中")
    overrides = _check_overrides(model, p)
    p.raise_if_any()
    return LoadedModel(model=model, path=display(path), overrides=overrides)


def _check_tree(items: list[Indicator], loc: tuple[str | int, ...], p: _Problems, seen: set[str]) -> None:
    total = sum(i.weight for i in items)
    if abs(total - 100) > 1e-6:
        parts = "＋".join(f"{i.name} {i.weight:g}" for i in items)
        p.add(loc, f"同一层级指标的权重之和须为 100，现为 {total:g}（{parts}）")
    catalog, lists = get_catalog(), get_list_types()
    for n, ind in enumerate(items):
        here = (*loc, n)
        if ind.id in seen:
            p.add((*here, "id"), f"指标代码“{ind.id}”重复")
        seen.add(ind.id)
        if ind.id in BUILTIN_FACTS:
            p.add((*here, "id"), f"指标代码“{ind.id}”与内置事实重名，请换一个")
        if ind.children:
            if ind.source or ind.rule or ind.aggregate or ind.direction:
                p.add(here, f"指标“{ind.name}”有下级指标，不能同时配置 source、aggregate、rule 或 direction")
            _check_tree(ind.children, (*here, "children"), p, seen)
            continue
        for key in ("source", "aggregate", "rule", "direction"):
            if getattr(ind, key) is None:
                p.add(here, f"末级指标“{ind.name}”缺少 {key}")
        src = ind.source
        if src is not None:
            kinds = [k for k in ("item", "lists", "commitments", "repair") if getattr(src, k)]
            if len(kinds) != 1:
                p.add((*here, "source"), f"指标“{ind.name}”的来源须且只能是 item、lists、commitments、repair 之一")
            if src.item is not None:
                item = catalog.find(src.item)
                if item is None:
                    p.add((*here, "source", "item"), f"未知的目录信息项“{src.item}”，请使用公共信用信息目录中的代码")
                elif ind.aggregate == "sum":
                    fld = next((f for f in item.fields if f.name == ind.field), None)
                    if fld is None:
                        p.add((*here, "field"), f"信息项“{item.name}”没有字段“{ind.field}”，合计（sum）须指明一个金额字段")
                    elif fld.type not in NUMERIC_TYPES:
                        p.add((*here, "field"), f"字段“{fld.label}”不是数值，不能合计")
                if item is not None and (src.field is not None or src.in_ is not None or src.not_in is not None):
                    _check_filter(ind, item, (*here, "source"), p)
            elif src.field is not None or src.in_ is not None or src.not_in is not None:
                p.add((*here, "source"), "按字段取值筛选（field 与 in / not_in）只能与 item 一起使用")
            for j, code in enumerate(src.lists or []):
                if lists.find(code) is None:
                    p.add((*here, "source", "lists", j), f"未知的名单类型“{code}”")
            if src.severity is not None and src.item is None:
                p.add((*here, "source", "severity"), "severity 只能与 item 一起使用")
            if src.lists is not None and ind.window_days is not None:
                p.add((*here, "window_days"), "名单来源按评价基准日是否在列计算，不设时间窗口")
        if ind.aggregate == "sum" and src is not None and src.item is None:
            p.add((*here, "aggregate"), "合计（sum）只适用于目录信息项来源")
        if ind.aggregate != "sum" and ind.field is not None:
            p.add((*here, "field"), "field 只用于合计（sum）")
        if ind.aggregate == "latest" and src is not None and src.item is None:
            p.add((*here, "aggregate"), "最近一次（latest）只适用于目录信息项来源")
        if src is not None and src.item is not None and ind.window_days is None and ind.aggregate != "latest":
            p.add(here, f"指标“{ind.name}”须写明时间窗口 window_days（天）")
        if ind.rule is not None:
            _check_rule(ind, (*here, "rule"), p)


def _check_filter(ind: Indicator, item: Any, loc: tuple[str | int, ...], p: _Problems) -> None:
    src = ind.source
    assert src is not None
    if src.field is None:
        p.add(loc, f"指标“{ind.name}”的来源写了 in / not_in，须同时用 field 指明按哪个字段筛选")
        return
    if (src.in_ is None) == (src.not_in is None):
        p.add((*loc, "field"), f"按字段“{src.field}”筛选须且只能写 in（只计这些取值）或 not_in（不计这些取值）之一")
    fld = next((f for f in item.fields if f.name == src.field), None)
    if fld is None:
        names = "、".join(f.name for f in item.fields if f.type not in NUMERIC_TYPES)
        p.add((*loc, "field"), f"信息项“{item.name}”没有字段“{src.field}”，可按以下文本字段筛选：{names}")
    elif fld.type in NUMERIC_TYPES:
        p.add((*loc, "field"), f"字段“{fld.label}”是数值，按取值筛选只适用于文本字段")


def _check_rule(ind: Indicator, loc: tuple[str | int, ...], p: _Problems) -> None:
    r = ind.rule
    assert r is not None
    forms = [f for f, ok in (("per_occurrence", r.per_occurrence is not None), ("intervals", r.intervals is not None),
                             ("threshold", r.threshold is not None)) if ok]
    if len(forms) != 1:
        p.add(loc, "计分规则须且只能是 per_occurrence（每次计分，配 cap）、intervals（区间表）、threshold（阈值，配 points）之一")
        return
    if forms[0] == "per_occurrence" and r.cap is None:
        p.add(loc, "每次计分（per_occurrence）须配封顶分 cap（0–100）")
    if forms[0] == "threshold" and r.points is None:
        p.add(loc, "阈值规则（threshold）须配得分 points（0–100）")
    if forms[0] == "intervals":
        ivs = r.intervals or []
        if not ivs:
            p.add((*loc, "intervals"), "区间表不能为空")
        for k, iv in enumerate(ivs):
            if iv.to is not None and iv.to <= iv.from_:
                p.add((*loc, "intervals", k), f"区间 [{iv.from_:g}, {iv.to:g}) 的上限须大于下限")
            if k > 0 and ivs[k - 1].to != iv.from_:
                p.add((*loc, "intervals", k), f"区间须首尾相接：上一区间止于 {ivs[k - 1].to}，此区间始于 {iv.from_:g}")
        if ivs and ivs[-1].to is not None:
            p.add((*loc, "intervals", len(ivs) - 1), "最后一个区间不写上限 to（到无穷大）")


def _check_bands(model: EvaluationModel, p: _Problems) -> None:
    bands = model.bands
    seen: set[str] = set()
    for k, b in enumerate(bands):
        if b.grade in seen:
            p.add(("bands", k, "grade"), f"等级“{b.grade}”重复")
        seen.add(b.grade)
        if b.max <= b.min:
            p.add(("bands", k), f"等级“{b.grade}”的上限 {b.max:g} 须大于下限 {b.min:g}")
        if k > 0:
            above = bands[k - 1]
            if b.max > above.min:
                p.add(("bands", k), f"等级“{b.grade}”[{b.min:g}, {b.max:g}) 与“{above.grade}”[{above.min:g}, "
                                    f"{above.max:g}) 重叠（等级须从高到低排列，首尾相接）")
            elif b.max < above.min:
                p.add(("bands", k), f"等级“{b.grade}”与“{above.grade}”之间有空档 [{b.max:g}, {above.min:g})，"
                                    "该分数段的主体无法判级")
    if bands and bands[-1].min > model.min_score:
        p.add(("bands", len(bands) - 1), f"最低等级的下限 {bands[-1].min:g} 高于最低分 {model.min_score:g}，留有空档")
    if bands and bands[0].max <= model.max_score:
        p.add(("bands", 0), f"最高等级的上限 {bands[0].max:g} 须大于最高分 {model.max_score:g}（上限不含）")


def _check_overrides(model: EvaluationModel, p: _Problems) -> tuple[tuple[str, str, cond.Condition], ...]:
    facts = facts_of(model)
    known = set(model.grade_order)
    parsed: dict[str, tuple[str, cond.Condition, int]] = {}
    for k, ov in enumerate(model.overrides):
        if ov.grade not in known:
            p.add(("overrides", k, "grade"), f"直接判级的等级“{ov.grade}”不在等级 bands 中")
        if ov.id in parsed:
            p.add(("overrides", k, "id"), f"直接判级规则“{ov.id}”重复")
        try:
            c = cond.parse(ov.when, facts)
        except cond.ConditionError as exc:
            p.add(("overrides", k, "when", *exc.path), f"直接判级“{ov.name}”的条件有误：{exc.message}")
            continue
        parsed[ov.id] = (ov.grade, c, k)
    # A depends on B when A's condition reads the grade and B can set a grade that condition looks at.
    deps: dict[str, set[str]] = {}
    for a, (_ga, ca, _ka) in parsed.items():
        looks = _grades_read(ca, known)
        deps[a] = {b for b, (gb, _cb, _kb) in parsed.items() if b != a and gb in looks}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*stack[stack.index(node):], node]
            p.add(("overrides", parsed[node][2]), f"直接判级规则之间存在循环依赖：{' → '.join(cycle)}")
            raise _Cycle
        state[node] = 1
        for d in sorted(deps[node]):
            visit(d, [*stack, node])
        state[node] = 2
        order.append(node)

    try:
        for node in parsed:
            visit(node, [])
    except _Cycle:
        return ()
    return tuple((i, parsed[i][0], parsed[i][1]) for i in order)


class _Cycle(Exception):
    pass


def _grades_read(c: cond.Condition, known: set[str]) -> set[str]:
    """The grades a condition's `grade` leaves can hold true for (every grade for ne / not_in)."""
    if isinstance(c, cond.Leaf):
        if c.fact.name != "grade":
            return set()
        vals = set(c.value) if isinstance(c.value, tuple) else {c.value}
        return {str(v) for v in vals} if c.op in ("eq", "in") else known - {str(v) for v in vals}
    if isinstance(c, cond.Not):
        return _grades_read(c.item, known) or set()
    return set().union(*(_grades_read(i, known) for i in c.items))


def load_models(directory: Path) -> dict[str, LoadedModel]:
    if not directory.is_dir():
        raise ConfigError(f"找不到评价模型配置文件夹 {display(directory)}", path=str(directory))
    models: dict[str, LoadedModel] = {}
    problems: list[ConfigError] = []
    for path in yaml_files(directory):
        try:
            m = load_model(path)
        except ConfigError as exc:
            problems.append(exc)
            continue
        models[m.id] = m
    if problems:
        raise ConfigError("\n".join(str(x) for x in problems), path=problems[0].path, line=problems[0].line)
    return models


def get_models() -> Mapping[str, LoadedModel]:
    return _cached(str((config_dir() / "evaluation").resolve()), os.environ.get("XINYONG_CONFIG_DIR"))


@lru_cache(maxsize=4)
def _cached(directory: str, _env: str | None) -> dict[str, LoadedModel]:
    return load_models(Path(directory))


def reset_cache() -> None:
    _cached.cache_clear()
    grades._orders.clear()


def get_model(model_id: str) -> LoadedModel:
    models = get_models()
    found = models.get(model_id)
    if found is None:
        raise NotFound(f"评价模型“{model_id}”不存在，可选：{'、'.join(sorted(models)) or '（无）'}",
                       rule="evaluation.model_unknown")
    return found


def _order(model_id: str) -> list[str] | None:
    m = get_models().get(model_id)
    return m.model.grade_order if m else None


grades.set_order_loader(_order)
