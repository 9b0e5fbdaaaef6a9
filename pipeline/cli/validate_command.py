"""``anonrelease validate``: run a suite on a CSV or Parquet file, print counts (never values).

Exit status: 0 the suite passed, 1 it failed, 2 the suite or input could not be used (unknown
suite, missing column or parameter, unreadable file).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.privacy_options import (
    DEFAULT_ESTIMATOR,
    DEFAULT_L_VARIANT,
    DEFAULT_T_DISTANCE,
    COption,
    EstimatorOption,
    KOption,
    LOption,
    LVariantOption,
    PrivacyOptionError,
    SensitiveOption,
    TDistanceOption,
    TOption,
    requirement_from_options,
    usage_error,
)
from transforms.errors import ConfigurationError

EXIT_PASSED, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class InputError(ConfigurationError):
    """The input file cannot be read (the message names the file, not its content)."""


def read_input(path: Path, /, *, text_columns: tuple[str, ...] = ()) -> Any:
    """Read Parquet, or CSV with the delimiter sniffed (``,``, tab, ``;`` or ``|``)."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            problem = f"not a readable Parquet file ({type(exc).__name__})"
            raise InputError(f"{path}: {problem}") from None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        head = handle.read(65_536)
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    dtype = dict.fromkeys(text_columns, "str") if text_columns else None
    try:
        return pd.read_csv(path, sep=delimiter, dtype=dtype, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({type(exc).__name__})") from None


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--param")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def validate(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV (delimiter sniffed) or Parquet file.")
    ],
    suite: Annotated[
        str, typer.Option(help="Suite name (expectations/suites/NAME.json) or a suite file.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable result.")
    ] = False,
    qi: Annotated[
        list[str] | None, typer.Option("--qi", help="Quasi-identifier column (repeatable).")
    ] = None,
    k: KOption = None,
    sensitive: SensitiveOption = None,
    l_value: LOption = None,
    l_variant: LVariantOption = DEFAULT_L_VARIANT,
    c: COption = None,
    entropy_estimator: EstimatorOption = DEFAULT_ESTIMATOR,
    t: TOption = None,
    t_distance: TDistanceOption = DEFAULT_T_DISTANCE,
    hierarchies: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Folder with the sensitive column's hierarchy."),
    ] = None,
    min_cell_count: Annotated[
        int | None, typer.Option(min=1, help="Minimum published count per table cell.")
    ] = None,
    count_column: Annotated[
        str | None, typer.Option(help="Count column of a frequency table.")
    ] = None,
    run_date: Annotated[
        str | None,
        typer.Option(help="Run date for the raw suites' date ranges (YYYY-MM-DD; default today)."),
    ] = None,
    customer_ids: Annotated[
        Path | None,
        typer.Option(help="CSV/Parquet with a customer_id column, for referential checks."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Any suite parameter as KEY=VALUE (JSON values allowed)."),
    ] = None,
    docs: Annotated[
        Path | None, typer.Option(help="Build GX Data Docs (HTML) into this folder.")
    ] = None,
) -> None:
    """Validate INPUT against a suite; exit 0 if it passes, 1 if it fails, 2 on config errors."""
    from datetime import date

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    err = Console(stderr=True)
    from pipeline.sources.schema import SUITE_VOCABULARIES

    # the source vocabularies the raw suites name ("genders", ...); --param may override
    params: dict[str, Any] = {**SUITE_VOCABULARIES, **_parse_params(param or [])}
    named = {
        "qi": list(qi) if qi else None,
        "sensitive": sensitive,
        "min_cell_count": min_cell_count,
        "count_column": count_column,
    }
    params.update({key: value for key, value in named.items() if value is not None})
    try:
        params["run_date"] = date.fromisoformat(run_date) if run_date else date.today()
    except ValueError as exc:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--run-date") from exc

    from expectations.validation import SuiteConfigError, run_validation

    text_columns = tuple(params.get("qi") or ()) + ((sensitive,) if sensitive else ())
    try:
        if k is not None or l_value is not None or t is not None or c is not None:
            # the privacy options make one requirement; its suite parameters override --param
            requirement = requirement_from_options(
                k=k,
                sensitive=sensitive,
                l=l_value,
                l_variant=l_variant,
                c=c,
                entropy_estimator=entropy_estimator,
                t=t,
                t_distance=t_distance,
                hierarchies=hierarchies,
            )
            params.update(requirement.gx_parameters())
        df = read_input(input_file, text_columns=text_columns)
        if customer_ids is not None:
            ids = read_input(customer_ids)
            if "customer_id" not in ids.columns:
                raise InputError(f"{customer_ids}: no customer_id column")
            params["customer_ids"] = ids["customer_id"].dropna().to_numpy()
        outcome = run_validation(df, suite=suite, parameters=params, data_docs_dir=docs)
    except PrivacyOptionError as exc:
        if not as_json:
            usage_error(exc)
        print(json.dumps({"success": False, "error": str(exc)}, ensure_ascii=False))
        raise typer.Exit(EXIT_CONFIG) from None
    except (SuiteConfigError, InputError) as exc:
        if as_json:
            print(json.dumps({"success": False, "error": str(exc)}, ensure_ascii=False))
        else:
            err.print(f"[bold red]configuration error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None

    if as_json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        stats = outcome.statistics
        verdict = "[bold green]PASSED[/]" if outcome.success else "[bold red]FAILED[/]"
        met = f"{stats['successful_expectations']}/{stats['evaluated_expectations']}"
        console.print(
            f"suite {escape(outcome.suite)}: {verdict} - {stats['rows']:,} rows, "
            f"{met} expectations met",
            highlight=False,
        )
        if outcome.rows == 0:
            console.print("[yellow]warning: 0 rows - nothing was validated[/]")
        if outcome.failures:
            table = Table(title="failed expectations (counts only)")
            table.add_column("expectation", overflow="fold")
            table.add_column("column", overflow="fold")
            table.add_column("rows", justify="right")
            table.add_column("detail")
            for f in outcome.failures:
                count = "" if f.unexpected_count is None else f"{f.unexpected_count:,}"
                table.add_row(*map(escape, (f.expectation, f.column or "", count, f.detail)))
            console.print(table)
        if outcome.docs_index:
            console.print(f"Data Docs: {escape(str(outcome.docs_index))}")
    raise typer.Exit(EXIT_PASSED if outcome.success else EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
