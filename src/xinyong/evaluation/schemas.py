"""Evaluation models as configuration (config/evaluation/*.yaml) and what the API returns."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(_Model):
    document: str = Field(min_length=1)
    article: str = Field(min_length=1)


class Population(_Model):
    status: list[str] = Field(default_factory=lambda: ["存续"], min_length=1)


class Exclude(_Model):
    outside_window: bool = True
    under_objection: bool = True
    repaired: bool = True
    revoked: bool = True


class Source(_Model):
    item: str | None = None
    severity: list[str] | None = None
    field: str | None = None  # with in/not_in: only the item's records whose text field is (not) one of the values
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[str] | None = Field(default=None, min_length=1)
    lists: list[str] | None = None
    commitments: Literal["breached", "fulfilled"] | None = None
    repair: Literal["approved"] | None = None


class Interval(_Model):
    from_: float = Field(alias="from")
    to: float | None = None
    points: float = Field(ge=0, le=100)


class Rule(_Model):
    per_occurrence: float | None = Field(default=None, ge=0)
    cap: float | None = Field(default=None, ge=0, le=100)
    intervals: list[Interval] | None = None
    threshold: float | None = None
    points: float | None = Field(default=None, ge=0, le=100)


class Indicator(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    name: str = Field(min_length=1)
    weight: float = Field(ge=0, le=100)
    children: list[Indicator] | None = None
    source: Source | None = None
    window_days: int | None = Field(default=None, ge=1, le=36500)
    aggregate: Literal["exists", "count", "sum", "latest"] | None = None
    field: str | None = None
    rule: Rule | None = None
    direction: Literal["bonus", "deduction"] | None = None


class Band(_Model):
    grade: str = Field(min_length=1, max_length=8)
    min: float
    max: float
    label: str = ""


class Override(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: str = Field(min_length=1)
    grade: str
    when: dict[str, object]


class EvaluationModel(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1, max_length=32)
    legal_basis: LegalBasis
    subject_kinds: list[str] = Field(min_length=1)
    population: Population = Population()
    base_score: float
    scale: float = Field(gt=0)
    min_score: float = 0
    max_score: float
    public: bool = False
    exclude: Exclude = Exclude()
    indicators: list[Indicator] = Field(min_length=1)
    bands: list[Band] = Field(min_length=2)
    overrides: list[Override] = Field(default_factory=list)
    measures: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def grade_order(self) -> list[str]:
        return [b.grade for b in self.bands]

    def leaves(self) -> list[tuple[Indicator, float, tuple[str, ...]]]:
        """Every leaf with its budget in points (scale × the weights along its path) and its ancestors' names."""
        out: list[tuple[Indicator, float, tuple[str, ...]]] = []

        def walk(items: list[Indicator], budget: float, names: tuple[str, ...]) -> None:
            for ind in items:
                share = budget * ind.weight / 100
                if ind.children:
                    walk(ind.children, share, (*names, ind.name))
                else:
                    out.append((ind, share, names))

        walk(self.indicators, self.scale, ())
        return out


class ModelOut(BaseModel):
    id: str
    name: str
    version: str
    legal_basis: str
    subject_kinds: list[str]
    base_score: float
    grades: list[str]
    indicators: int
    overrides: int
    public: bool


class ContributionOut(BaseModel):
    indicator: str
    name: str
    path: str
    direction: str
    points: float
    facts: list[int]


class EvaluationOut(BaseModel):
    uscc: str | None
    model: str
    model_name: str
    version: str
    grade: str
    score: float
    as_of: date
    run_id: int
    override: str | None
    measures: list[str]
    contributions: list[ContributionOut]
