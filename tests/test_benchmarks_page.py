"""docs/benchmarks.md is what ``python -m bench.report`` renders from the committed results:
no hand-typed figures, and the analysis shown is the one of each target the results miss."""

from __future__ import annotations

import copy
import re
import string

from bench import analysis, report
from bench.targets import targets

#: Names that contain digits but are no measurement: datasets, modules, versions.
NAMES_WITH_DIGITS = ("3-month", "10M", "psycopg 3", "sqlite3")


def test_the_committed_page_is_the_rendering_of_the_committed_results() -> None:
    assert report.PAGE.read_text() == report.render(report.load_results()), (
        "docs/benchmarks.md is stale or was edited by hand: run python -m bench.report"
    )


def test_rendering_the_same_results_twice_gives_the_same_page() -> None:
    results = report.load_results()
    assert report.render(results) == report.render(copy.deepcopy(results))


def test_every_missed_target_has_its_analysis_on_the_page() -> None:
    results = report.load_results()
    page = report.render(results)
    missed = {t.family for t in targets(results) if not t.met}
    assert missed, "the committed results miss targets; this test must see their analysis"
    for family in missed:
        heading, _ = analysis.MISSES[family]
        assert f"### {heading}" in page


def test_a_target_met_in_the_results_loses_its_analysis() -> None:
    results = report.load_results()
    results["load"]["postgresql"]["items_per_s"] = 150_000.0
    assert "### Bulk load\n\n`orderitems import`" in report.render(results)
    results["load"]["sqlite"]["items_per_s"] = 60_000.0
    page = report.render(results)
    assert "| import ≥ 50,000 items/s into SQLite | 60,000 | yes |" in page
    assert analysis.MISSES["import"][0] not in page.split("## Results")[0]


def test_the_words_hold_no_figures_only_fields_filled_from_the_results() -> None:
    texts = [text for _, text in analysis.MISSES.values()] + list(analysis.NOTES.values())
    for text in texts:
        words = "".join(literal for literal, *_ in string.Formatter().parse(text))
        for name in NAMES_WITH_DIGITS:
            words = words.replace(name, "")
        assert re.findall(r"\d", words) == [], text
