"""``anonrelease anonymize`` and ``anonrelease check``: the anonymization engine from the shell.

Both read CSV (delimiter sniffed, ``;`` included) or Parquet with every column as a string,
through Arrow's multithreaded readers (``pipeline.sources.table_files``). ``check`` reads
only the columns it checks, as dictionary codes, and counts classes on the codes: it imports
neither pandas nor anything of the pipeline it does not use (a test guards this).
Output, reports and messages carry column names, levels, counts and risks, never a row value.
Search time is measured here, around the pure ``transforms`` call.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape  # file names and messages print literally, never as markup

from pipeline.cli.privacy_options import (
    DEFAULT_ESTIMATOR,
    DEFAULT_L_VARIANT,
    DEFAULT_METHOD,
    DEFAULT_METRIC,
    DEFAULT_T_DISTANCE,
    COption,
    EstimatorOption,
    KOption,
    LOption,
    LVariantOption,
    Method,
    MetricName,
    PrivacyOptionError,
    SensitiveOption,
    TDistanceOption,
    TOption,
    requirement_from_options,
    usage_error,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.console import Console

    from pipeline.sources.table_files import CodedColumn
    from transforms.anonymize import AnonymizationResult
    from transforms.hierarchy import Hierarchy
    from transforms.options import SearchMethod

EXIT_NOT_MET = 1
EXIT_USAGE = 2
EXIT_NO_SOLUTION = 3


def read_table(path: Path, /) -> pd.DataFrame:
    """CSV (delimiter sniffed among , ; tab |) or Parquet, every column as a string."""
    from pipeline.sources.table_files import read_frame

    return read_frame(path)


def write_table(df: pd.DataFrame, path: Path, /) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".parquet", ".pq"}:
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


def _risk(
    original: pd.DataFrame,
    released: pd.DataFrame,
    qi: Sequence[str],
    suppressed_mask: np.ndarray | None,
) -> dict[str, Any]:
    """Before/after re-identification risk (``transforms.risk``; class-size fallback)."""
    try:
        from transforms.risk import risk_before_after
    except ImportError:  # pragma: no cover - the risk module ships with the project
        return _prosecutor_risk(original, released, qi, suppressed_mask)
    return risk_before_after(original, released, qi, suppressed_mask)


def _read_input(path: Path, *, columns: Sequence[str], err: Console) -> pd.DataFrame:
    """Read INPUT; a column the file lacks is a usage error naming the file and columns."""
    df = read_table(path)
    _require_columns(path, list(df.columns), columns, err=err)
    return df


def _require_columns(
    path: Path, present: Sequence[str], columns: Sequence[str], *, err: Console
) -> None:
    missing = [col for col in columns if col not in present]
    if missing:
        err.print(f"[red]columns not in {escape(path.name)}:[/red] {escape(str(missing))}")
        raise typer.Exit(EXIT_USAGE)


def _read_coded_input(
    path: Path, *, columns: Sequence[str], err: Console
) -> tuple[int, dict[str, CodedColumn]]:
    """Read only ``columns`` of INPUT as codes; a missing one is a usage error, as above."""
    from pipeline.sources.table_files import read_coded, table_columns

    _require_columns(path, table_columns(path), columns, err=err)
    return read_coded(path, columns=list(dict.fromkeys(columns)))


def _information_loss(
    original: pd.DataFrame,
    result: AnonymizationResult,
    qi: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
) -> dict[str, Any]:
    """Per-attribute loss: entropy share and intensity for a full-domain generalization,
    normalized certainty penalty (NCP) of the released classes for local recoding."""
    from transforms.utility import class_ids, full_domain_loss, ncp_per_attribute

    if result.transformation:
        losses = full_domain_loss(
            original, qi=qi, hierarchies=hierarchies, transformation=result.transformation
        )
        return {col: asdict(loss) for col, loss in losses.items()}
    kept = ~result.suppressed_mask
    ncp = ncp_per_attribute(
        original[kept],
        qi=qi,
        classes=class_ids(result.data[kept], qi=qi),
        hierarchies=hierarchies,
    )
    return {col: {"ncp": value} for col, value in ncp.items()}


def _prosecutor_risk(
    original: pd.DataFrame,
    released: pd.DataFrame,
    qi: Sequence[str],
    suppressed_mask: np.ndarray | None,
) -> dict[str, Any]:
    import numpy as np

    from transforms.privacy_models import qi_class_ids

    def summary(df: pd.DataFrame) -> dict[str, float | int | None]:
        ids, n_classes = qi_class_ids(df, qi=qi)
        if not len(ids):
            return {"n_records": 0, "prosecutor_highest": None, "prosecutor_average": None}
        sizes = np.bincount(ids, minlength=n_classes)
        return {
            "n_records": len(df),
            "prosecutor_highest": float(1 / sizes.min()),
            "prosecutor_average": float(n_classes / len(df)),
        }

    kept = released if suppressed_mask is None else released.loc[~suppressed_mask]
    return {"qi": list(qi), "before": summary(original), "after": summary(kept)}


def _assignments(
    values: Sequence[str] | None,
    /,
    *,
    option: str,
    kind: type[int] | type[float],
    qi: Sequence[str],
) -> dict[str, Any] | None:
    """``COL=VALUE`` options (repeatable) as a map; a malformed one is a usage error naming it."""
    if not values:
        return None
    out: dict[str, Any] = {}
    what = "a whole number" if kind is int else "a number"
    for text in values:
        column, sep, raw = text.rpartition("=")
        if not sep or not column:
            raise PrivacyOptionError(option, f"expected COLUMN=VALUE, got {text!r}")
        try:
            value = kind(raw)
        except ValueError:
            raise PrivacyOptionError(option, f"{column!r}: {raw!r} is not {what}") from None
        if kind is float and not (math.isfinite(value) and value >= 0):
            raise PrivacyOptionError(option, f"{column!r}: weight must be finite and >= 0")
        if column not in qi:
            raise PrivacyOptionError(option, f"{column!r} is not a --qi column")
        if column in out:
            raise PrivacyOptionError(option, f"{column!r} given twice")
        out[column] = value
    return out


WeightOption = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        metavar="COL=W",
        help="Attribute weight in the loss (ARX's; repeat; default 0.5, scaled by the largest).",
    ),
]
MinLevelOption = Annotated[
    list[str] | None,
    typer.Option("--min-level", metavar="COL=L", help="Lowest level a QI may take (repeat)."),
]
MaxLevelOption = Annotated[
    list[str] | None,
    typer.Option("--max-level", metavar="COL=L", help="Highest level a QI may take (repeat)."),
]


def anonymize_command(
    input: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet.")],
    hierarchies: Annotated[
        Path,
        typer.Option(
            "--hierarchies", exists=True, file_okay=False, help="Folder of ARX hierarchies."
        ),
    ],
    qi: Annotated[list[str], typer.Option("--qi", help="Quasi-identifier (repeat).")],
    output: Annotated[Path, typer.Option("--output", help="Anonymized table (CSV/Parquet).")],
    report: Annotated[Path, typer.Option("--report", help="JSON report.")],
    suppression_limit: Annotated[
        float, typer.Option("--suppression-limit", min=0.0, max=1.0, help="Share of rows.")
    ],
    sensitive: SensitiveOption = None,
    k: KOption = None,
    l: LOption = None,  # noqa: E741
    l_variant: LVariantOption = DEFAULT_L_VARIANT,
    c: COption = None,
    entropy_estimator: EstimatorOption = DEFAULT_ESTIMATOR,
    t: TOption = None,
    t_distance: TDistanceOption = DEFAULT_T_DISTANCE,
    metric: Annotated[MetricName, typer.Option("--metric")] = DEFAULT_METRIC,
    method: Annotated[Method, typer.Option("--method")] = DEFAULT_METHOD,
    weight: WeightOption = None,
    min_level: MinLevelOption = None,
    max_level: MaxLevelOption = None,
) -> None:
    """Optimal full-domain generalization with record suppression (ARX semantics).

    ``--weight``, ``--min-level`` and ``--max-level`` are ARX's attribute weights and
    generalization bounds: the optimum is sought among the nodes within the bounds.
    """
    from rich.console import Console

    from transforms.anonymize import anonymize
    from transforms.hierarchy import HierarchyError, find_hierarchies
    from transforms.lattice import LatticeTooLargeError, LevelBoundsError
    from transforms.metrics import AttributeWeightError
    from transforms.privacy_models import PrivacyModelError

    err = Console(stderr=True)
    df = _read_input(input, columns=[*qi, *([sensitive] if sensitive else [])], err=err)
    if k is None and l is None and t is None:
        usage_error(PrivacyOptionError("--k", "give at least one of --k, --l, --t"))
    try:
        weights = _assignments(weight, option="--weight", kind=float, qi=qi)
        min_levels = _assignments(min_level, option="--min-level", kind=int, qi=qi)
        max_levels = _assignments(max_level, option="--max-level", kind=int, qi=qi)
        requirement = requirement_from_options(
            k=k,
            sensitive=sensitive,
            l=l,
            l_variant=l_variant,
            c=c,
            entropy_estimator=entropy_estimator,
            t=t,
            t_distance=t_distance,
            hierarchies=hierarchies,
        )
        models = requirement.models()
        found = find_hierarchies(hierarchies, columns=qi)
        started = time.perf_counter()
        result = anonymize(
            df,
            qi=qi,
            hierarchies=found,
            models=models,
            suppression_limit=suppression_limit,
            metric=metric.value,
            method=cast("SearchMethod", method.value),  # anonymize() checks it
            weights=weights,
            min_levels=min_levels,
            max_levels=max_levels,
        )
        seconds = time.perf_counter() - started
    except PrivacyOptionError as exc:
        usage_error(exc)
    except (
        HierarchyError,
        PrivacyModelError,
        LatticeTooLargeError,
        LevelBoundsError,
        AttributeWeightError,
    ) as exc:
        err.print(f"[red]{type(exc).__name__}:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    solved = result.transformation is not None
    body: dict[str, Any] = {
        "input_records": len(df),
        "qi": list(qi),
        "sensitive": sensitive,
        "models": [repr(m) for m in models],
        "suppression_limit": suppression_limit,
        "metric": metric.value,
        "method": method.value,
        "weights": weights,
        "min_levels": min_levels,
        "max_levels": max_levels,
        "transformation": [result.transformation[col] for col in qi]
        if solved and result.transformation
        else (None if not solved else []),
        "loss": result.loss,
        "suppressed": result.suppressed,
        "classes": result.classes,
        "min_class_size": result.min_class_size,
        "nodes_checked": result.nodes_checked,
        "lattice_size": result.lattice_size,
        "seconds": seconds,
        "risk": _risk(df, result.data, qi, result.suppressed_mask if solved else None)
        if solved
        else {"before": _risk(df, df, qi, None)["before"], "after": None},
        "information_loss": _information_loss(df, result, qi, found) if solved else None,
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(body, indent=2, default=_json_default), encoding="utf-8")
    if not solved:
        err.print(
            "[red]no transformation satisfies the privacy models within the suppression "
            f"limit[/red] ({result.nodes_checked} of {result.lattice_size} nodes checked)"
        )
        raise typer.Exit(EXIT_NO_SOLUTION)
    write_table(result.data, output)
    Console().print(
        f"transformation {body['transformation']}, loss {result.loss:.6g}, "
        f"suppressed {result.suppressed}, classes {result.classes}, "
        f"min class size {result.min_class_size}, nodes checked {result.nodes_checked}/"
        f"{result.lattice_size}, {seconds:.3f} s"
    )


def check_command(
    input: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet.")],
    qi: Annotated[list[str], typer.Option("--qi", help="Quasi-identifier (repeat).")],
    sensitive: SensitiveOption = None,
    k: KOption = None,
    l: LOption = None,  # noqa: E741
    l_variant: LVariantOption = DEFAULT_L_VARIANT,
    c: COption = None,
    entropy_estimator: EstimatorOption = DEFAULT_ESTIMATOR,
    t: TOption = None,
    t_distance: TDistanceOption = DEFAULT_T_DISTANCE,
    hierarchies: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Folder with the sensitive column's hierarchy."),
    ] = None,
    include_suppressed: Annotated[
        bool,
        typer.Option(help="Also check records whose every QI is '*' (suppressed)."),
    ] = False,
) -> None:
    """Print achieved k, l, t and risk; exit 1 when a requested level is not met."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from transforms.privacy_models import PrivacyModelError, check_privacy_codes

    err = Console(stderr=True)
    n, coded = _read_coded_input(input, columns=[*qi, *([sensitive] if sensitive else [])], err=err)
    try:
        requirement = requirement_from_options(
            # nothing requested: report the achieved levels against k = 1 (always met)
            k=1 if k is None and l is None and t is None else k,
            sensitive=sensitive,
            l=l,
            l_variant=l_variant,
            c=c,
            entropy_estimator=entropy_estimator,
            t=t,
            t_distance=t_distance,
            hierarchies=hierarchies,
        )
        models = requirement.models()
        suppressed = (
            np.zeros(n, dtype=bool) if include_suppressed else _all_suppressed(coded, qi, n)
        )
        result = check_privacy_codes(
            (coded[column].class_codes() for column in qi),
            n=n,
            models=models,
            sensitive={sensitive: (coded[sensitive].codes, coded[sensitive].labels)}
            if sensitive
            else None,
            exclude=suppressed,
        )
    except PrivacyOptionError as exc:
        usage_error(exc)
    except Exception as exc:
        from transforms.hierarchy import HierarchyError  # only here: it imports pandas

        if not isinstance(exc, HierarchyError | PrivacyModelError):
            raise
        err.print(f"[red]{type(exc).__name__}:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    table = Table(title=f"Privacy of {escape(input.name)}", show_header=True)
    table.add_column("measure")
    table.add_column("achieved", justify="right")
    table.add_column("requested", justify="right")
    table.add_row("records checked", str(result.n_records), "")
    table.add_row("suppressed records (not checked)", str(int(suppressed.sum())), "")
    table.add_row("equivalence classes", str(result.n_classes), "")
    table.add_row("k (min class size)", _fmt(result.k), _fmt(k))
    if l is not None:
        table.add_row(f"l ({l_variant.value})", _fmt(result.l), _fmt(l))
    if t is not None:
        table.add_row(f"t ({t_distance.value}, max EMD)", _fmt(result.t), _fmt(t))
    table.add_row("violating classes", str(result.violating_classes), "0")
    table.add_row("violating records", str(result.violating_records), "0")
    table.add_row("prosecutor risk, highest", _fmt(result.max_risk), "")
    table.add_row("prosecutor risk, average", _fmt(result.avg_risk), "")
    Console().print(table)
    if not result.satisfied:
        err.print("[red]requested privacy level not met[/red]")
        raise typer.Exit(EXIT_NOT_MET)


def _all_suppressed(coded: Mapping[str, CodedColumn], qi: Sequence[str], n: int) -> np.ndarray:
    """Rows whose every QI is the suppression label, compared on codes."""
    import numpy as np

    from transforms.options import SUPPRESSED

    mask = np.ones(n, dtype=bool)
    for column in qi:
        code = coded[column].code_of(SUPPRESSED)
        if code is None:
            return np.zeros(n, dtype=bool)
        mask &= coded[column].codes == code
    return mask


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return str(int(value))


def _json_default(value: object) -> object:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def register(app: typer.Typer) -> None:
    app.command("anonymize")(anonymize_command)
    app.command("check")(check_command)
