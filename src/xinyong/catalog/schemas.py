"""The public credit information catalog as data: items, their fields and publication rules.

Everything an item needs lives in its YAML file; these models only validate it and offer the
look-ups the ingest pipeline and the record service use.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from xinyong.catalog import rules
from xinyong.catalog.headers import normalize_header
from xinyong.core.errors import NotFound

# 公共信用信息基础目录 (2024), in the national order.
CATEGORIES: tuple[str, ...] = (
    "登记注册基本信息",
    "司法裁判及执行信息",
    "行政管理信息",
    "职称和职业资格信息",
    "经营(活动)异常名录(状态)信息",
    "严重失信主体名单信息",
    "合同履行信息",
    "信用承诺及履行情况信息",
    "信用评价结果信息",
    "遵守法律法规情况信息",
    "诚实守信相关荣誉信息",
    "知识产权信息",
    "市场主体自愿提供的信息",
)
SUBJECT_KINDS: tuple[str, ...] = ("legal_person", "individual_business", "other_org", "natural_person")
SUBJECT_KIND_LABELS: dict[str, str] = {
    "legal_person": "法人",
    "individual_business": "个体工商户",
    "other_org": "非法人组织",
    "natural_person": "自然人",
}
DISCLOSURES: tuple[str, ...] = ("public", "shared", "authorised")
DUAL_PUBLICITY: tuple[str, ...] = ("penalty", "license")
FIELD_TYPES: tuple[str, ...] = (
    "string", "text", "uscc", "citizen_id", "code", "date", "decimal", "enum", "subject_kind",
)  # fmt: skip
PUBLICATION_RULES: tuple[str, ...] = ("severity", "fixed", "validity", "permanent", "none")
ROLES: tuple[str, ...] = (
    "subject_name", "subject_kind", "uscc", "reg_no", "org_code", "tax_no", "inst_cert_no",
    "social_org_no", "legal_rep", "legal_rep_id_type", "legal_rep_id_no", "id_type", "id_no",
    "decision_no", "decision_date", "penalty_type", "severity", "publish_until", "amount",
    "valid_from", "valid_to", "authority", "authority_uscc", "source_dept", "source_dept_uscc",
    "status", "note",
)  # fmt: skip
# Roles whose values the pipeline parses in one particular way.
ROLE_TYPES: dict[str, tuple[str, ...]] = {
    "uscc": ("uscc",),
    "authority_uscc": ("uscc",),
    "source_dept_uscc": ("uscc",),
    "decision_date": ("date",),
    "publish_until": ("date",),
    "valid_from": ("date",),
    "valid_to": ("date",),
    "amount": ("decimal",),
    "subject_kind": ("subject_kind",),
}
SENSITIVE_ROLES: frozenset[str] = frozenset({"id_no", "legal_rep_id_no"})

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DEPT_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
# The category whose providers are the registration authorities: only their batches rename subjects.
REGISTRATION_CATEGORY = "登记注册基本信息"
_COLUMN_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class CatalogError(Exception):
    """A catalog file that cannot be used; the message (Chinese) names the file and the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class LocatedValueError(ValueError):
    """A validation error that knows which node below the validated value is at fault."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _one_of(options: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f'取值 "{value}" 无效，可选：{"、".join(options)}')
        return value

    return AfterValidator(check)


def _canonical_category(value: str) -> str:
    wanted = normalize_header(value)
    for category in CATEGORIES:
        if normalize_header(category) == wanted:
            return category
    raise ValueError(f'取值 "{value}" 不是国家公共信用信息基础目录的类别，可选：{"、".join(CATEGORIES)}')


def _non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("不能为空")
    return value


def _matches(pattern: re.Pattern[str], hint: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f'取值 "{value}" 格式不对：{hint}')
        return value

    return check


SubjectKind = Annotated[str, _one_of(SUBJECT_KINDS)]
SeverityName = Annotated[str, _one_of(rules.CLASSES)]
Text = Annotated[str, AfterValidator(_non_blank)]
Name = Annotated[str, AfterValidator(_matches(_NAME, "须为小写英文字母、数字和下划线，以字母开头"))]
ColumnCode = Annotated[str, AfterValidator(_matches(_COLUMN_CODE, "须为英文字母、数字和下划线"))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldDef(_Model):
    name: Name
    label: Text
    code: ColumnCode | None = None
    type: Annotated[str, _one_of(FIELD_TYPES)] = "string"
    required: bool = False
    required_for: list[SubjectKind] | None = None
    aliases: list[Text] = Field(default_factory=list)
    sensitive: bool = False
    max_length: int | None = Field(default=None, gt=0)
    enum: list[Text] | None = None
    # The cell may hold several enum values separated by 、；; (e.g. 处罚类别 "罚款；没收违法所得").
    multiple: bool = False
    role: Annotated[str, _one_of(ROLES)] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        if self.type == "enum" and not self.enum:
            raise LocatedValueError(("enum",), "类型为 enum 的字段必须列出可选值 enum")
        if self.enum is not None and self.type != "enum":
            raise LocatedValueError(
                ("enum",), f"只有类型为 enum 的字段可以列出 enum（本字段类型为 {self.type}）"
            )
        if self.enum is not None and len(set(self.enum)) != len(self.enum):
            raise LocatedValueError(("enum",), "enum 中有重复的取值")
        if self.multiple and self.type != "enum":
            raise LocatedValueError(("multiple",), "只有类型为 enum 的字段可以设置 multiple")
        if self.required and self.required_for:
            raise LocatedValueError(("required_for",), "required 与 required_for 只能设置一个")
        if self.type == "citizen_id" and not self.sensitive:
            raise LocatedValueError(
                ("sensitive",), "公民身份号码字段必须设置 sensitive: true（加密存储、脱敏显示）"
            )
        if self.role in SENSITIVE_ROLES and not self.sensitive:
            raise LocatedValueError(
                ("sensitive",), f"证件号码字段（role {self.role}）必须设置 sensitive: true"
            )
        allowed = ROLE_TYPES.get(self.role or "")
        if allowed and self.type not in allowed:
            raise LocatedValueError(
                ("type",), f"role 为 {self.role} 的字段类型须为 {'、'.join(allowed)}（收到 {self.type}）"
            )
        return self

    def is_required(self, kind: str | None = None) -> bool:
        return self.required or (kind is not None and kind in (self.required_for or ()))


DeptCode = Annotated[str, AfterValidator(_matches(_DEPT_CODE, "须为部门代码（英文字母开头，字母、数字、下划线或连字符）"))]


class Providers(_Model):
    """Who may provide an item: department codes, and whether the credit office may provide on their behalf."""

    departments: list[DeptCode] = Field(min_length=1)
    # 信用办代为报送: true only where the providing departments may hand their data to the office.
    credit_office: bool = False

    @field_validator("departments")
    @classmethod
    def _unique_departments(cls, codes: list[str]) -> list[str]:
        for i, code in enumerate(codes):
            if code in codes[:i]:
                raise LocatedValueError((i,), f"提供部门 {code} 重复")
        return codes


class PublicationRule(_Model):
    rule: Annotated[str, _one_of(PUBLICATION_RULES)]
    # fixed: months from start_field (default: the item's date_field)
    months: int | None = Field(default=None, gt=0)
    start_field: Name | None = None
    # validity: from start_field to end_field (有效期自 / 有效期至)
    end_field: Name | None = None
    # severity: class per penalty type, explicit class column, requested 公示截止期
    class_field: Name | None = None
    type_field: Name | None = None
    default_classes: dict[str, SeverityName] = Field(default_factory=dict)
    default_class: SeverityName = rules.ORDINARY
    until_field: Name | None = None
    # Operators' per-department reclassification: {department code or name: {penalty type: class}}.
    department_classes: dict[str, dict[str, SeverityName]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PublicationRule:
        if self.rule == "severity" and not self.type_field:
            raise LocatedValueError(("type_field",), "公示规则 severity 必须指定 type_field（处罚类别字段）")
        if self.rule == "fixed" and self.months is None:
            raise LocatedValueError(("months",), "公示规则 fixed 必须指定 months（公示月数）")
        if self.rule == "validity" and not self.end_field:
            raise LocatedValueError(("end_field",), "公示规则 validity 必须指定 end_field（有效期至字段）")
        if self.rule != "fixed" and self.months is not None:
            raise LocatedValueError(("months",), f"months 只用于公示规则 fixed（本规则为 {self.rule}）")
        return self

    def classes_for(self, department: str | None = None) -> dict[str, str]:
        """The department's overrides of the default classes (empty when it has none)."""
        if department is None:
            return {}
        return dict(self.department_classes.get(department, {}))

    def referenced_fields(self) -> dict[str, str]:
        """Settings that name a field, by setting name."""
        names = ("start_field", "end_field", "class_field", "type_field", "until_field")
        return {n: v for n in names if (v := getattr(self, n)) is not None}


class CatalogItem(_Model):
    code: Name
    name: Text
    category: Annotated[str, AfterValidator(_canonical_category)]
    subject_kinds: list[SubjectKind] = Field(min_length=1)
    disclosure: Annotated[str, _one_of(DISCLOSURES)]
    dual_publicity: Annotated[str, _one_of(DUAL_PUBLICITY)] | None = None
    legal_basis: Text
    description: str | None = None
    publication: PublicationRule
    providers: Providers
    timeliness_workdays: int | None = Field(default=None, gt=0)
    key_field: Name | None = None
    date_field: Name | None = None
    fields: list[FieldDef] = Field(min_length=1)

    @field_validator("subject_kinds")
    @classmethod
    def _unique_kinds(cls, kinds: list[str]) -> list[str]:
        for i, kind in enumerate(kinds):
            if kind in kinds[:i]:
                raise LocatedValueError((i,), f"主体类型 {kind} 重复")
        return kinds

    @model_validator(mode="after")
    def _consistent(self) -> CatalogItem:
        self._check_fields()
        names = {f.name for f in self.fields}
        for setting in ("key_field", "date_field"):
            ref = getattr(self, setting)
            if ref is not None and ref not in names:
                raise LocatedValueError((setting,), f"{setting} 指向的字段 {ref} 不存在")
        for setting, ref in self.publication.referenced_fields().items():
            if ref not in names:
                raise LocatedValueError(("publication", setting), f"{setting} 指向的字段 {ref} 不存在")
        if self.publication.rule in ("severity", "fixed", "validity") and not (
            self.date_field or self.publication.start_field
        ):
            raise LocatedValueError(
                ("publication",), "按日期计算公示期的信息项必须指定 date_field（认定日期字段）"
            )
        if self.dual_publicity and self.timeliness_workdays is None:
            raise LocatedValueError(
                ("timeliness_workdays",), "双公示信息项必须指定 timeliness_workdays（报送时限，工作日）"
            )
        return self

    def _check_fields(self) -> None:
        seen_names: set[str] = set()
        seen_roles: dict[str, str] = {}
        seen_headers: dict[str, str] = {}
        for i, f in enumerate(self.fields):
            if f.name in seen_names:
                raise LocatedValueError(("fields", i, "name"), f"字段名 {f.name} 重复")
            seen_names.add(f.name)
            if f.role is not None:
                if f.role in seen_roles:
                    raise LocatedValueError(
                        ("fields", i, "role"),
                        f"role {f.role} 已由字段 {seen_roles[f.role]} 使用，每个 role 只能有一个字段",
                    )
                seen_roles[f.role] = f.name
            for kind in f.required_for or ():
                if kind not in self.subject_kinds:
                    raise LocatedValueError(
                        ("fields", i, "required_for"),
                        f"required_for 中的 {kind} 不在本信息项的 subject_kinds 中",
                    )
            for loc, header in _headers_of(f):
                key = normalize_header(header)
                owner = seen_headers.get(key)
                if owner is not None and owner != f.name:
                    raise LocatedValueError(
                        ("fields", i, *loc), f"表头“{header}”与字段 {owner} 的表头或别名重复（规范化后相同）"
                    )
                if owner == f.name and loc[0] == "aliases":
                    raise LocatedValueError(
                        ("fields", i, *loc), f"表头别名“{header}”在字段 {f.name} 中重复（规范化后相同）"
                    )
                seen_headers[key] = f.name

    @cached_property
    def _header_index(self) -> dict[str, str]:
        return {normalize_header(h): f.name for f in self.fields for _, h in _headers_of(f)}

    def header_index(self) -> dict[str, str]:
        """Normalised header (label, every alias, column code, field name) → field name."""
        return dict(self._header_index)

    def match_header(self, header: str) -> FieldDef | None:
        name = self._header_index.get(normalize_header(header))
        return self.field(name) if name else None

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_by_role(self, role: str) -> FieldDef | None:
        return next((f for f in self.fields if f.role == role), None)

    def sensitive_fields(self) -> builtins.list[FieldDef]:
        return [f for f in self.fields if f.sensitive]

    def required_fields(self, kind: str | None = None) -> builtins.list[FieldDef]:
        """Fields a row must fill; with ``kind``, also those required for that subject kind."""
        return [f for f in self.fields if f.is_required(kind)]

    def may_provide(self, dept_code: str, *, credit_office: bool = False) -> bool:
        """Whether a department may provide this item: one of its providers, or the credit office where the
        catalog lets it provide on their behalf."""
        return dept_code in self.providers.departments or (credit_office and self.providers.credit_office)

    @property
    def renames_subjects(self) -> bool:
        """Only the registration authority's item changes a subject's name; other items' names are as reported."""
        return self.category == REGISTRATION_CATEGORY

    @property
    def key_def(self) -> FieldDef | None:
        return self.field(self.key_field) if self.key_field else None


def _headers_of(f: FieldDef) -> builtins.list[tuple[tuple[str | int, ...], str]]:
    """Every header spelling of a field with its location inside the field."""
    out: builtins.list[tuple[tuple[str | int, ...], str]] = [(("name",), f.name), (("label",), f.label)]
    if f.code:
        out.append((("code",), f.code))
    out.extend((("aliases", j), a) for j, a in enumerate(f.aliases))
    return out


class Catalog(_Model):
    items: dict[str, CatalogItem]

    def __contains__(self, code: object) -> bool:
        return code in self.items

    def __len__(self) -> int:
        return len(self.items)

    def find(self, code: str) -> CatalogItem | None:
        return self.items.get(code)

    def get(self, code: str) -> CatalogItem:
        """The item, or NotFound (a domain error: nothing outside the catalog may be recorded)."""
        item = self.items.get(code)
        if item is None:
            raise NotFound(f"公共信用信息目录中没有信息项“{code}”", rule="catalog.unknown_item")
        return item

    def by_dual_publicity(self, kind: str) -> CatalogItem | None:
        return next((i for i in self.list() if i.dual_publicity == kind), None)

    def list(
        self, *, category: str | None = None, disclosure: str | None = None
    ) -> builtins.list[CatalogItem]:
        """Items in the national category order, then by code; optionally filtered."""
        found = [
            i
            for i in self.items.values()
            if (category is None or i.category == category)
            and (disclosure is None or i.disclosure == disclosure)
        ]
        return sorted(found, key=lambda i: (CATEGORIES.index(i.category), i.code))
