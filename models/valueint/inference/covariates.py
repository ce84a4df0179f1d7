"""Per-parameter regression formulas on subject covariates, as design matrices.

A hierarchical fit gives each subject-level parameter p a population mean that may
depend on the subject's covariates::

    theta_p[s] = X_p[s] @ beta_p + sigma_p * z_p[s]

``CovariateFormulas`` declares the right-hand side of each parameter's regression in
one place, in Wilkinson notation parsed by formulaic::

    CovariateFormulas(["alpha ~ 1 + age + I(age**2)", "beta ~ 1 + group + bs(age, df=3)"],
                      default="1")

``build_design`` turns them and a subject table (one row per subject, e.g. ``FitData.subject_table()``) into
``DesignMatrices``: per parameter, in the model's parameter order, a float array
[subject, K_p] whose column 0 is the intercept.  Numeric covariates are z-scored over the
subjects first (the means and sds are kept), so that ``Normal(0, prior_scale)`` suits
every non-intercept coefficient whatever the covariate's units; categorical covariates
use treatment coding with their first level as the reference.  Stateful transforms
(``bs`` knots, ``poly`` bases, ``C`` levels) are fixed by the fitting subjects and reused
by ``DesignMatrices.matrix_for`` for new covariate values, e.g. an age grid for plotting
a parameter's age curve.  ``to_json``/``from_json`` keep a design in a fit's attrs.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from valueint.text import label_text, top_level_split

JSON_VERSION = 1
INTERCEPT = "Intercept"  # formulaic's name of the intercept column


# ----------------------------------------------------------------------------- formulas


def _formula(rhs: str, where: str):
    """The parsed right-hand side (a formulaic ``SimpleFormula``); errors name ``where``."""
    from formulaic import Formula
    from formulaic.errors import FormulaicError

    if "~" in rhs:
        raise ValueError(f"{where}: {rhs!r} must be a right-hand side only (no '~')")
    if not rhs.strip():
        raise ValueError(f"{where}: the right-hand side is empty (write '1' for no covariates)")
    try:
        formula = Formula(rhs)
    except FormulaicError as err:
        raise ValueError(f"{where}: cannot parse {rhs!r}: {_plain(err)}") from None
    if not any(str(term) == "1" for term in formula):
        # The intercept is the parameter's population mean: the model always has one.
        raise ValueError(
            f"{where}: {rhs!r} drops the intercept; every parameter keeps its population mean "
            "(remove '0 +' or '- 1')"
        )
    return formula


def _plain(err: Exception) -> str:
    # formulaic marks the faulty operator with terminal colour codes; messages are text.
    return re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()


def formula_variables(rhs: str) -> tuple[str, ...]:
    """The data columns a right-hand side reads, in order of appearance.

    formulaic's own ``required_variables`` misses those inside stateful transforms
    (``bs(age)``, ``poly(age)``, ``center(age)``), so Python factors are read here.
    """
    from formulaic.parser.types import Factor
    from formulaic.transforms import TRANSFORMS

    names: list[str] = []
    for term in _formula(rhs, "covariate formula"):
        for factor in term.factors:
            if factor.eval_method == Factor.EvalMethod.LOOKUP:
                names.append(factor.expr)
            elif factor.eval_method == Factor.EvalMethod.PYTHON:
                names += _expression_names(factor.expr)
    return tuple(n for n in dict.fromkeys(names) if n not in TRANSFORMS)


def _expression_names(expr: str) -> list[str]:
    """Names read as values in a Python expression (not called, not attributes)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return []  # formulaic reports the expression itself when it evaluates it
    names, todo = [], [tree.body]
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                todo.append(node.func)  # e.g. np.log: its root np is a transform
            todo += [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Attribute):
            todo.append(node.value)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        else:
            todo += list(ast.iter_child_nodes(node))
    return names


@dataclasses.dataclass(frozen=True)
class CovariateFormulas:
    """Right-hand sides of each parameter's population regression, and a default.

    ``formulas`` is a mapping {parameter: "1 + age"}, formulas "alpha ~ 1 + age" (one
    string or several) or, as stored, pairs (parameter, right-hand side).  Parameters not
    named get ``default`` ("1": the population mean alone).  Every right-hand side must
    keep the intercept.  Held as ((parameter, rhs), ...) in the order given.
    """

    formulas: tuple[tuple[str, str], ...] = ()
    default: str = "1"

    def __post_init__(self):
        pairs = _formula_pairs(self.formulas)
        seen = set()
        for parameter, rhs in pairs:
            if parameter in seen:
                raise ValueError(f"covariate formulas: parameter {parameter!r} given twice")
            seen.add(parameter)
            _formula(rhs, f"covariate formula for {parameter!r}")
        _formula(self.default, "default covariate formula")
        object.__setattr__(self, "formulas", pairs)
        object.__setattr__(self, "default", self.default.strip())

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters named (the others take ``default``)."""
        return tuple(p for p, _ in self.formulas)

    def rhs(self, parameter: str) -> str:
        """The right-hand side for ``parameter``."""
        return dict(self.formulas).get(parameter, self.default)

    def check(self, parameters: Sequence[str], columns: Iterable[str]) -> None:
        """Refuse parameters the model lacks and columns the subject table lacks."""
        unknown = [p for p in self.parameters if p not in parameters]
        if unknown:
            raise ValueError(
                f"covariate formulas name unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"the model's parameters are: {', '.join(parameters)}"
            )
        columns = list(columns)
        for parameter in parameters:
            rhs = self.rhs(parameter)
            absent = [name for name in formula_variables(rhs) if name not in columns]
            if absent:
                where = "the default formula" if parameter not in self.parameters else "the formula"
                raise ValueError(
                    f"{where} for {parameter!r} ({rhs!r}) uses unknown covariate column(s) "
                    f"{', '.join(map(repr, absent))}; the subject covariates are: "
                    f"{', '.join(columns) or 'none'} (name a column in "
                    "as_fit_data(..., covariates=...) to make it one)"
                )

    def to_dict(self) -> dict:
        return {"formulas": dict(self.formulas), "default": self.default}

    @classmethod
    def from_dict(cls, record: Mapping) -> CovariateFormulas:
        return cls(record.get("formulas", {}), record.get("default", "1"))


def _formula_pairs(formulas) -> tuple[tuple[str, str], ...]:
    if isinstance(formulas, CovariateFormulas):
        return formulas.formulas
    if isinstance(formulas, str):
        formulas = [formulas]
    if isinstance(formulas, Mapping):
        items = [(str(p), rhs) for p, rhs in formulas.items()]
    else:
        items = []
        for entry in formulas:
            if isinstance(entry, str):
                lhs, tilde, rhs = entry.partition("~")
                if not tilde:
                    raise ValueError(
                        f"covariate formula {entry!r} needs a parameter: write "
                        "'parameter ~ right-hand side', e.g. 'alpha ~ 1 + age'"
                    )
                items.append((lhs.strip(), rhs))
            else:
                parameter, rhs = entry
                items.append((str(parameter), rhs))
    for parameter, rhs in items:
        if not parameter.isidentifier():
            raise ValueError(f"covariate formulas: {parameter!r} is not a parameter name")
        if not isinstance(rhs, str):
            raise ValueError(f"covariate formula for {parameter!r}: expected text, got {rhs!r}")
    return tuple((p, rhs.strip()) for p, rhs in items)


# ----------------------------------------------------------------------------- labels

_CALL = re.compile(r"^(?P<func>[A-Za-z_][\w.]*)\((?P<args>.*)\)(?P<index>\[[^\]]*\])?$")


def _factor_label(factor: str) -> str:
    factor = factor.strip()
    level = re.fullmatch(r"(?P<name>.+?)\[(?:T\.)?(?P<level>[^\]]*)\]", factor)
    match = _CALL.match(factor)
    if match:
        func, index = match["func"], match["index"] or ""
        args = top_level_split(match["args"], ",")
        if func == "I":
            power = re.fullmatch(r"\s*(.+?)\s*\*\*\s*(\S+)\s*", match["args"])
            inner = f"{power[1]}^{power[2]}" if power else match["args"].strip()
            return inner + index
        if func == "C":
            return args[0].strip() + re.sub(r"^\[T\.", "[", index)
        return f"{func}({args[0].strip()}){index}"
    if level:
        return f"{level['name']}[{level['level']}]"
    return factor


def coefficient_label(column: str) -> str:
    """A readable label of a design column: "age", "age^2", "bs(age)[1]", "group[older]".

    The intercept reads "intercept"; interactions keep ":" between their factors.
    """
    if column == INTERCEPT:
        return "intercept"
    return ":".join(_factor_label(f) for f in top_level_split(column, ":"))


def coefficient_labels(columns: Sequence[str]) -> tuple[str, ...]:
    """``coefficient_label`` of each column; the formulaic names where two would coincide."""
    labels = tuple(coefficient_label(c) for c in columns)
    return labels if len(set(labels)) == len(labels) else tuple(columns)


# ----------------------------------------------------------------------------- design


@dataclasses.dataclass(frozen=True)
class Standardization:
    """How a numeric covariate was z-scored: z = (x - mean) / sd, sd over subjects (ddof 0)."""

    mean: float
    sd: float

    def apply(self, values) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.sd


@dataclasses.dataclass(frozen=True, eq=False)
class DesignMatrices:
    """Per-parameter design matrices [subject, K_p] of the population regressions.

    ``parameters`` in the model's order; ``matrices[p]`` float64 with column 0 the
    intercept; ``columns[p]`` formulaic's column names (``labels(p)`` readable ones);
    ``standardization`` per numeric covariate used; ``levels`` per categorical covariate
    used (reference first); ``table`` the fitting subjects' covariates as given (raw units),
    which ``from_json`` rebuilds the design from.
    """

    parameters: tuple[str, ...]
    subject_ids: tuple[str, ...]
    matrices: Mapping[str, np.ndarray]
    columns: Mapping[str, tuple[str, ...]]
    standardization: Mapping[str, Standardization]
    levels: Mapping[str, tuple[str, ...]]
    formulas: CovariateFormulas
    table: pd.DataFrame = dataclasses.field(repr=False)
    model_specs: Mapping = dataclasses.field(repr=False, default_factory=dict)

    def __repr__(self) -> str:
        terms = "; ".join(f"{p}: {', '.join(self.labels(p))}" for p in self.parameters)
        return f"DesignMatrices({self.n_subjects} subjects; {terms})"

    @property
    def n_subjects(self) -> int:
        return len(self.subject_ids)

    @property
    def n_columns(self) -> dict[str, int]:
        """K_p per parameter (1 for an intercept-only parameter)."""
        return {p: len(self.columns[p]) for p in self.parameters}

    @property
    def intercept_only(self) -> bool:
        """True when no parameter has a covariate (every K_p is 1)."""
        return all(k == 1 for k in self.n_columns.values())

    def matrix(self, parameter: str) -> np.ndarray:
        return self.matrices[self._known(parameter)]

    def labels(self, parameter: str) -> tuple[str, ...]:
        """Readable coefficient labels of ``parameter``'s columns ("intercept", "age", ...)."""
        return coefficient_labels(self.columns[self._known(parameter)])

    def _known(self, parameter: str) -> str:
        if parameter not in self.matrices:
            raise ValueError(
                f"no design for parameter {parameter!r}; parameters: {', '.join(self.parameters)}"
            )
        return parameter

    def matrix_for(self, parameter: str, new_table) -> np.ndarray:
        """``parameter``'s design for new covariate values (raw units), [row, K_p].

        ``new_table`` is a DataFrame (or a mapping of columns) with the covariates that
        ``parameter``'s formula reads; numeric ones are standardized as the fitting data
        were, categorical ones must be among the fitting levels, and spline knots and
        polynomial bases are those of the fitting subjects (a ``bs`` term refuses values
        outside the fitting range unless its formula says how to extrapolate).
        """
        from formulaic.errors import FormulaicError

        spec = self.model_specs[self._known(parameter)]
        new_table = pd.DataFrame(new_table)
        used = formula_variables(self.formulas.rhs(parameter))
        absent = [name for name in used if name not in new_table.columns]
        if absent:
            raise ValueError(
                f"matrix_for({parameter!r}): the new table lacks column(s) "
                f"{', '.join(map(repr, absent))} that {self.formulas.rhs(parameter)!r} reads"
            )
        prepared = self._prepared(new_table, used, where=f"matrix_for({parameter!r})")
        try:
            matrix = spec.get_model_matrix(prepared, na_action="raise")
        except FormulaicError as err:
            ranges = "; ".join(
                f"the fitting subjects' {name} runs {self.table[name].min():g} to "
                f"{self.table[name].max():g}"
                for name in used
                if name in self.standardization
            )
            hint = f" ({ranges}; a spline extrapolates if told, e.g. bs(age, df=3, extrapolation='extend'))"
            raise ValueError(
                f"matrix_for({parameter!r}): {_plain(err)}{hint if ranges else ''}"
            ) from None
        return _intercept_rows(np.asarray(matrix, dtype=np.float64), len(prepared))

    def _prepared(self, table: pd.DataFrame, used, where: str) -> pd.DataFrame:
        return _prepare(table, used, self.standardization, self.levels, where)

    def to_json(self) -> str:
        """The design as JSON text (formulas, standardization, levels, fitting covariates)."""
        table = {
            name: (
                [str(v) for v in column.astype(str)]
                if name in self.levels
                else [float(v) for v in column]
            )
            for name, column in self.table.items()
        }
        record = {
            "version": JSON_VERSION,
            "parameters": list(self.parameters),
            "subject_ids": list(self.subject_ids),
            "formulas": self.formulas.to_dict(),
            "columns": {p: list(c) for p, c in self.columns.items()},
            "standardization": {
                name: {"mean": s.mean, "sd": s.sd} for name, s in self.standardization.items()
            },
            "levels": {name: list(levels) for name, levels in self.levels.items()},
            "table": table,
        }
        return json.dumps(record)

    @classmethod
    def from_json(cls, text: str) -> DesignMatrices:
        """The design ``to_json`` wrote, rebuilt from its fitting covariates."""
        record = json.loads(text)
        if record.get("version") != JSON_VERSION:
            raise ValueError(
                f"design record version {record.get('version')!r}; this valueint reads "
                f"version {JSON_VERSION}"
            )
        index = pd.Index(record["subject_ids"], name="subject")
        table = pd.DataFrame(
            {
                name: (
                    pd.Categorical(values, categories=record["levels"][name])
                    if name in record["levels"]
                    else np.asarray(values, dtype=np.float64)
                )
                for name, values in record["table"].items()
            },
            index=index,
        )
        design = build_design(
            CovariateFormulas.from_dict(record["formulas"]), table, record["parameters"]
        )
        stored = {p: tuple(c) for p, c in record["columns"].items()}
        if dict(design.columns) != stored:
            raise ValueError(
                "the design rebuilt from its record has other columns than were stored "
                f"({dict(design.columns)} against {stored}); was it written by another "
                "formulaic version?"
            )
        return design


def _intercept_rows(matrix: np.ndarray, n_rows: int) -> np.ndarray:
    # An intercept-only formula on data without columns gives a single row: one per row here.
    if matrix.shape[0] != n_rows and matrix.shape[1] == 1:
        return np.ones((n_rows, 1))
    return matrix


def _labels(column: pd.Series) -> pd.Series:
    """Levels as text, as the data contract writes them (3.0 reads "3"); NaN kept."""

    return column.astype(object).map(label_text, na_action="ignore")


def _prepare(table: pd.DataFrame, used, standardization, levels, where: str) -> pd.DataFrame:
    """The covariates ``used`` as formulaic reads them: z-scored numbers, fixed levels."""
    out = {}
    for name in used:
        column = table[name]
        if name in levels:
            text = _labels(column)
            unknown = sorted(set(text[text.notna() & ~text.isin(levels[name])]))
            if unknown or text.isna().any():
                found = ", ".join(map(repr, unknown)) if unknown else "a missing value"
                raise ValueError(
                    f"{where}: covariate {name!r} has {found}; its levels are "
                    f"{', '.join(map(repr, levels[name]))}"
                )
            out[name] = pd.Categorical(text, categories=list(levels[name]))
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                raise ValueError(
                    f"{where}: covariate {name!r} needs finite numbers; row(s) "
                    f"{', '.join(map(repr, table.index[bad][:5]))} have {column[bad].iloc[0]!r}"
                )
            out[name] = standardization[name].apply(values)
    return pd.DataFrame(out, index=table.index)


def _subject_table(subjects) -> pd.DataFrame:
    """The subject table as a frame: categorical or numeric columns, one row per subject."""
    table = subjects.subject_table() if hasattr(subjects, "subject_table") else subjects
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"subjects must be a DataFrame of subject covariates (or have subject_table()); got "
            f"{type(subjects).__name__}"
        )
    columns = {}
    for name, column in table.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            columns[name] = column.cat.rename_categories([str(c) for c in column.cat.categories])
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            columns[name] = column.astype(np.float64)
        else:  # labels: the reference level is the first to appear
            text = _labels(column)
            columns[name] = pd.Categorical(text, categories=list(pd.unique(text.dropna())))
    return pd.DataFrame(columns, index=table.index.astype(str))


def build_design(
    formulas: CovariateFormulas | Mapping[str, str] | Iterable[str] | str,
    subjects,
    parameters,
) -> DesignMatrices:
    """``DesignMatrices`` of ``formulas`` for the subjects of ``subjects``.

    ``subjects`` is a subject table, or data with a ``subject_table()`` method (a trial
    fit's ``FitData``): such a table (index: the
    subject ids; categorical columns as ``pd.Categorical``, reference level first, text
    columns taken in order of first appearance; numeric columns as numbers).
    ``parameters`` are the model's parameter names (or the model itself); the matrices
    follow their order.  A formula's unknown parameter or column, a missing covariate
    value, a numeric covariate that is the same for every subject, a categorical one with
    a single level and collinear columns are each a ValueError that names them.
    """
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    if not isinstance(formulas, CovariateFormulas):
        formulas = CovariateFormulas(formulas)
    if hasattr(parameters, "parameter_names"):
        parameters = parameters.parameter_names
    parameters = tuple(parameters)
    table = _subject_table(subjects)
    formulas.check(parameters, table.columns)
    used = tuple(
        dict.fromkeys(name for p in parameters for name in formula_variables(formulas.rhs(p)))
    )
    standardization, levels = {}, {}
    for name in used:
        column = table[name]
        missing = column.isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"covariate {name!r} is missing for subject(s) "
                f"{', '.join(map(repr, table.index[missing][:5]))}"
            )
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels[name] = tuple(column.cat.categories)
            if column.nunique() < 2:
                raise ValueError(
                    f"covariate {name!r} has a single level ({column.iloc[0]!r}) among the "
                    "subjects; nothing to compare"
                )
            continue
        values = column.to_numpy(np.float64)
        sd = float(values.std())
        if not sd > 0:
            raise ValueError(
                f"covariate {name!r} has the same value ({values[0]:g}) for every subject: "
                "it cannot be standardized, nor its effect estimated"
            )
        standardization[name] = Standardization(float(values.mean()), sd)
    prepared = _prepare(table, used, standardization, levels, "build_design")
    matrices, columns, specs = {}, {}, {}
    for parameter in parameters:
        rhs = formulas.rhs(parameter)
        try:
            built = model_matrix(rhs, prepared, na_action="raise")
        except FormulaicError as err:
            raise ValueError(
                f"covariate formula for {parameter!r} ({rhs!r}): {_plain(err)}"
            ) from None
        matrix = _intercept_rows(np.asarray(built, dtype=np.float64), len(prepared))
        names = tuple(built.model_spec.column_names)
        rank = np.linalg.matrix_rank(matrix)
        if rank < matrix.shape[1]:
            raise ValueError(
                f"covariate formula for {parameter!r} ({rhs!r}) gives {matrix.shape[1]} columns "
                f"({', '.join(names)}) of rank {rank} over {len(prepared)} subjects: some are "
                "collinear or constant (fewer spline degrees of freedom, or fewer terms)"
            )
        matrices[parameter], columns[parameter] = matrix, names
        specs[parameter] = built.model_spec
    return DesignMatrices(
        parameters=parameters,
        subject_ids=tuple(table.index),
        matrices=matrices,
        columns=columns,
        standardization=standardization,
        levels=levels,
        formulas=formulas,
        table=table[list(used)],
        model_specs=specs,
    )
