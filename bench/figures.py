"""Figures a benchmark reports: a table for people, `--json` for machines."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    """One measured value, and the target the issue sets for it, if any."""

    metric: str
    value: float
    unit: str
    target: float | None = None
    #: True when the value must not exceed the target (gas, latency); False for a floor (rate).
    at_most: bool = True
    note: str = ""

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.at_most else self.value >= self.target

    def as_json(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "ok": self.ok,
        }


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON list")
    return parser.parse_args()


def report(title: str, figures: Sequence[Figure], *, as_json: bool) -> None:
    """Print the figures as a table, or as the JSON list of {metric, value, unit, target, ok}."""
    if as_json:
        print(json.dumps([f.as_json() for f in figures], indent=2))
        return
    table = Table(title=title)
    table.add_column("metric", no_wrap=True)
    for column in ("value", "unit", "target", "ok"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("note")
    for f in figures:
        target = "" if f.target is None else f"{'<=' if f.at_most else '>='} {_number(f.target)}"
        verdict = {None: "", True: "[green]yes[/green]", False: "[red]NO[/red]"}[f.ok]
        table.add_row(f.metric, _number(f.value), f.unit, target, verdict, f.note)
    console = Console()
    console.width = max(console.width, 120)  # CI logs report 80 columns
    console.print(table)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
