"""Report options (the recipe's ``outputs: report:`` value), validated once."""

from __future__ import annotations

from dataclasses import dataclass

from .. import params as _params
from .._errors import RecipeError


@dataclass(frozen=True)
class ReportOptions:
    """What ``outputs: report:`` may hold (``report: true`` means all defaults).

    towns : only these townships (names as in the boundary layer); default all
    figures : render the static map figures (PNG) into the documents
    county_summary : also write the county roll-up ``<county>_消防专篇汇总``
    html / docx : which formats to write
    author : 编制单位 shown on the cover
    plan_name : plan title; ``{town}`` is replaced by the township name
    county : county name for the summary (default: the county layer's name, else "全区")
    date : date shown on the cover (default: today)
    dpi : figure resolution
    max_rows : longest list table before the rest is referred to tables.xlsx
    workers : processes rendering townships in parallel (0 = automatic: up to 4 when there are six or more
        townships with figures, on systems with ``fork``; 1 = serial)
    """

    towns: tuple[str, ...] | None = None
    figures: bool = True
    county_summary: bool = True
    html: bool = True
    docx: bool = True
    author: str = ""
    plan_name: str = "{town}国土空间总体规划（2021—2035年）"
    county: str = ""
    date: str = ""
    dpi: int = 130
    max_rows: int = 30
    workers: int = 0

    def __post_init__(self):
        if self.dpi < 50 or self.dpi > 600:
            raise ValueError(f"dpi must be between 50 and 600, got {self.dpi}")
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {self.max_rows}")
        if self.workers < 0:
            raise ValueError(f"workers must be 0 (automatic) or more, got {self.workers}")
        if not (self.html or self.docx):
            raise ValueError("html and docx are both false: nothing to write")

    @classmethod
    def from_value(cls, value) -> ReportOptions:
        """``True``/``None`` -> defaults; a mapping is checked key by key (unknown keys name the closest)."""
        if value is None or value is True:
            return cls()
        if value is False:
            raise RecipeError("outputs.report is false: the report was not asked for")
        if isinstance(value, ReportOptions):
            return value
        if not isinstance(value, dict):
            raise RecipeError(f"outputs.report: expected true or a mapping of options, got {value!r}")
        value = dict(value)
        towns = value.get("towns")
        if isinstance(towns, str):
            value["towns"] = [t.strip() for t in towns.replace("，", ",").split(",") if t.strip()]
        return _params.from_mapping(cls, value, "outputs.report")
