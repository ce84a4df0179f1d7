"""The simulation config's fields, written from the code at build time so they cannot drift.

```{config-fields} caregiver
beta | praise sharpness
theta | θ_c, the caregiver's weights | default: required
```

renders one table of the config (``experiment``, ``caregiver``, ``learner``) or the
options of one registered world (``gridworld``, ``prosocial``: the ``[env]`` table).
What the code knows comes from the code:

- the fields: the defaults tables of ``valueint.sim.config``, and for a world the options
  its builder allows (read off the error it gives for an unknown one);
- the defaults: those tables, and for a world the ``options.get(name, default)`` calls of
  its builder;
- what is allowed: the checks (``check_range``, ``check_choice``, ...) that
  ``valueint.sim.config.resolve`` makes, recorded while it resolves a config of defaults.

The page gives each field's meaning, one line ``field | meaning``, and, only where the
code cannot say, ``| default: ...`` or ``| allowed: ...``.  A field the code has and the
page lacks, a line for a field the code does not have, or a default or range stated on the
page that the code already states, is an error: the build fails rather than drift.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass, field

from generated_block import generated_block
from sphinx.util.docutils import SphinxDirective

CHECKS = ("check_range", "check_choice", "check_type", "check_vector")
CONFIG_TABLES = ("experiment", "caregiver", "learner")
NO_DEFAULT = object()  # the code gives none: the page must say what happens


@dataclass
class Field:
    name: str  # as written in the config, e.g. "caregiver.beta" or "env.size"
    default: object = NO_DEFAULT
    allowed: list[str] = field(default_factory=list)


def _int(value) -> str:
    return f"{int(value):,}"


def _range_text(low, high, integer: bool) -> str:
    kind = "an integer" if integer else "a number"
    show = _int if integer else (lambda v: f"{v:g}")
    if low is not None and high is not None:
        return f"{kind} in [{show(low)}, {show(high)}]"
    if low is not None:
        return f"{kind} ≥ {show(low)}"
    if high is not None:
        return f"{kind} ≤ {show(high)}"
    return "any integer (int32)" if integer else "any finite number"


def _check_text(check: str, args: tuple, kwargs: dict) -> str:
    """What a recorded check allows, in words; ``args`` follow ``(field, value)``."""
    if check == "check_range":
        low, high = (list(args) + [kwargs.get("low"), kwargs.get("high")])[:2]
        return _range_text(low, high, kwargs.get("integer", False))
    if check == "check_choice":
        return "one of " + ", ".join(f"`{c}`" for c in args[0])
    if check == "check_type":
        return args[1]  # the words the check itself uses: "true or false", "a string"
    if check == "check_vector":
        return f"a list of numbers{args[1]}"
    raise AssertionError(check)


@contextlib.contextmanager
def recorded_checks():
    """Every check a valueint module makes while inside, as {field: [words]}."""
    import valueint.errors as errors

    records: dict[str, list[str]] = {}

    def recording(check, original):
        def recorder(name, value, *args, **kwargs):
            text = _check_text(check, args, kwargs)
            if text not in records.setdefault(name, []):
                records[name].append(text)
            return original(name, value, *args, **kwargs)

        return recorder

    originals = {check: getattr(errors, check) for check in CHECKS}
    patched = []
    # the modules that imported a check by name, and valueint.errors itself (the
    # element checks of check_vector), are patched; calls inside a module see its own name
    for module in [m for n, m in sys.modules.items() if n.startswith("valueint.")]:
        for check, original in originals.items():
            if getattr(module, check, None) is original:
                patched.append((module, check, original))
                setattr(module, check, recording(check, original))
    try:
        yield records
    finally:
        for module, check, original in patched:
            setattr(module, check, original)


def world_options(world: str) -> list[str]:
    """The options a world's builder allows, as its error for an unknown one lists them."""
    from valueint.errors import ConfigError
    from valueint.sim.envs import WORLDS

    probe = "__not_an_option__"
    try:
        WORLDS.get(world)({"name": world, probe: 0}, "env")
    except ConfigError as err:
        found = re.search(r"allowed: \[(.*)\]", str(err))
        if found:
            return [ast.literal_eval(name.strip()) for name in found.group(1).split(",")]
        raise RuntimeError(f"{world}: the error for an unknown option lists none: {err}") from None
    raise RuntimeError(f"{world}: the builder accepted an unknown option")


def builder_defaults(world: str) -> dict:
    """``{option: default}`` from the ``options.get("option", default)`` calls of a
    world's builder (defaults that are not constants of its module are left out)."""
    from valueint.sim.envs import WORLDS

    build = WORLDS.get(world)
    module = importlib.import_module(build.__module__)
    tree = ast.parse(textwrap.dedent(inspect.getsource(build)))
    defaults = {}
    for call in ast.walk(tree):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "get"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "options"
            and len(call.args) == 2
            and isinstance(call.args[0], ast.Constant)
        ):
            continue
        try:
            value = eval(compile(ast.Expression(call.args[1]), "<default>", "eval"), vars(module))
        except NameError:  # a local of the builder: the page says it in words
            continue
        defaults[call.args[0].value] = value
    return defaults


def minimal_config(world: str) -> dict:
    """A config of defaults on ``world``: only what is required."""
    from valueint.sim.envs import make

    env, _ = make(world)
    return {"env": {"name": world}, "caregiver": {"theta": [0.0] * env.n_features}}


def code_fields(table: str) -> list[Field]:
    """The fields of ``table`` (a config table or a world), in the code's order."""
    from valueint.sim import config
    from valueint.sim.envs import WORLDS

    world = table if table in WORLDS else "gridworld"
    with recorded_checks() as records:
        config.resolve(minimal_config(world))
    if table in CONFIG_TABLES:
        defaults = getattr(config, f"{table.upper()}_DEFAULTS")
        names = [(f"{table}.{key}", key) for key in defaults]
    elif table in WORLDS:
        defaults = builder_defaults(table)
        names = [(f"env.{key}", key) for key in world_options(table) if key != "name"]
    else:
        known = ", ".join([*CONFIG_TABLES, *WORLDS.names()])
        raise KeyError(f"{table!r} is neither a config table nor a world; known: {known}")
    fields = []
    for name, key in names:
        default = defaults.get(key, NO_DEFAULT)
        fields.append(
            Field(name, NO_DEFAULT if default is None else default, records.get(name, []))
        )
    return fields


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, dict) and "name" in v for v in value):
            return "[" + ", ".join(f"{{name = {_toml(v['name'])}, ...}}" for v in value) + "]"
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return f"{value:g}" if isinstance(value, float) else repr(value)


def parse_page_lines(lines) -> dict[str, dict[str, str]]:
    """``field | meaning [| default: ...] [| allowed: ...]`` lines, by field."""
    entries = {}
    for line in lines:
        if not line.strip():
            continue
        name, *parts = (part.strip() for part in line.split("|"))
        if not parts:
            raise ValueError(f"{line!r}: expected 'field | meaning'")
        entry = {"meaning": parts[0]}
        for extra in parts[1:]:
            key, sep, text = extra.partition(":")
            if not sep or key.strip() not in ("default", "allowed"):
                raise ValueError(
                    f"{line!r}: after the meaning, only 'default: ...' or 'allowed: ...'"
                )
            entry[key.strip()] = text.strip()
        if name in entries:
            raise ValueError(f"{name!r} is described twice")
        entries[name] = entry
    return entries


def table_lines(table: str, page_lines) -> list[str]:
    fields = code_fields(table)
    prefix = "env" if not fields or fields[0].name.startswith("env.") else table
    entries = parse_page_lines(page_lines)
    by_key = {f.name.split(".", 1)[1]: f for f in fields}
    problems = [f"{prefix}.{key} is not a field of {table}" for key in entries if key not in by_key]
    problems += [
        f"{f.name} has no meaning on this page" for k, f in by_key.items() if k not in entries
    ]
    rows = ["| field | default | allowed | meaning |", "|---|---|---|---|"]
    for key, f in by_key.items():
        entry = entries.get(key)
        if entry is None:
            continue
        if f.default is NO_DEFAULT and "default" not in entry:
            problems.append(f"{f.name}: the code gives no default; say it with '| default: ...'")
        if f.default is not NO_DEFAULT and "default" in entry:
            problems.append(
                f"{f.name}: the code's default is {_toml(f.default)}; leave it out here"
            )
        if not f.allowed and "allowed" not in entry:
            problems.append(
                f"{f.name}: no check states what is allowed; say it with '| allowed: ...'"
            )
        if f.allowed and "allowed" in entry:
            problems.append(f"{f.name}: the code states what is allowed; leave it out here")
        default = entry.get("default") or f"`{_toml(f.default)}`"
        allowed = entry.get("allowed") or "; ".join(f.allowed)
        rows.append(f"| `{f.name}` | {default} | {allowed} | {entry['meaning']} |")
    if problems:
        raise ValueError("; ".join(problems))
    return rows


class ConfigFields(SphinxDirective):
    required_arguments = 1
    has_content = True

    def run(self):
        table = self.arguments[0]
        return generated_block(
            self,
            lambda: table_lines(table, self.content),
            label=f"config-fields {table}",
            node_id=f"config-{table}",
            css_class="config-fields",
            errors=(KeyError, ValueError, RuntimeError),
        )


def setup(app):
    app.add_directive("config-fields", ConfigFields)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
