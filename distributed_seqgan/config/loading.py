"""Reading configs: YAML files (with ``base:`` inheritance), dotted ``--set`` overrides, and
run directories' ``config.yaml``; and writing a run's whole config back.

Validation is strict because a typo in a long GPU run is expensive: an unknown key names
the closest valid one, and a wrong type or out-of-range value names the key. A config file
may start from another: ``base: synthetic.yaml`` (a path relative to the file) loads that
file first and overrides it key by key, so a CPU variant states only what it changes. A
run directory's ``config.yaml`` is always written out whole.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import ConfigError
from .schema import Config, check_algorithm_sections, to_dict


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Returns ``value`` as type ``tp`` or raises ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, arg, value)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{key}: expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
        (inner, _) = typing.get_args(tp)
        return tuple(_coerce(f"{key}[{i}]", inner, v) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    raise TypeError(f"unsupported config type {tp!r} for {key}")  # a bug, not user input


def _check_range(key: str, value: Any, rules: dict[str, Any]) -> None:
    if value is None:
        return
    ops = {"ge": (lambda a, b: a >= b, ">="), "gt": (lambda a, b: a > b, ">")}
    ops |= {"le": (lambda a, b: a <= b, "<="), "lt": (lambda a, b: a < b, "<")}
    for name, bound in rules.items():
        check, sym = ops[name]
        if not check(value, bound):
            raise ConfigError(f"{key}: must be {sym} {bound}, got {value!r}")


def _unknown_key(prefix: str, key: str, valid: list[str]) -> ConfigError:
    full = f"{prefix}{key}"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(valid)}"
    return ConfigError(f"unknown config key '{full}'{hint}")


def _build(cls: type, raw: Any, prefix: str = "") -> Any:
    """Builds dataclass ``cls`` from a (possibly partial) mapping, validating every value."""
    where = prefix or "config"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    dot = f"{prefix}." if prefix else ""
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise _unknown_key(dot, str(key), list(fields))
        value = _coerce(f"{dot}{key}", hints[key], value)
        _check_range(f"{dot}{key}", value, dict(fields[key].metadata.get("rules", {})))
        kwargs[key] = value
    return cls(**kwargs)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``a.b=c`` -> ("a.b", c parsed as YAML, so ``3`` is an int and ``[1,2]`` a list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not p for p in key.split(".")):
        raise ConfigError(f"--set expects key=value (e.g. schedule.mle_epochs=5), got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        why = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {why}") from None
    return key, value


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (plain YAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.YAMLError(f"line {line}: key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        loaded = yaml.load(p.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"malformed config {p}: {first}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"malformed config {p}: top level must be a mapping")
    return loaded


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_tree(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a plain tree, with its ``base:`` chain resolved."""
    p = Path(path)
    tree = _read_yaml(p)
    base = tree.pop("base", None)
    if base is None:
        return tree
    if not isinstance(base, str):
        raise ConfigError(f"{p}: base: expected the path of another config file, got {base!r}")
    base_path = (p.parent / base).resolve()
    if base_path in _seen or base_path == p.resolve():
        raise ConfigError(f"{p}: base: {base} leads back to itself")
    return _merge(read_config_tree(base_path, (*_seen, p.resolve())), tree)


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Reads a YAML config (or the defaults when ``path`` is None) and applies overrides.

    A config file must name its ``task`` (itself or through its ``base``): an empty or
    mistyped file would otherwise start the defaults, the paper's 10-hour run."""
    tree = read_config_tree(path) if path is not None else {}
    if path is not None and "task" not in tree:
        raise ConfigError(f"{path}: no 'task' key (synthetic, text or music); is it a config?")
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(tree, key, value)
    cfg = _build(Config, tree).validate()
    check_algorithm_sections(cfg.algorithm, list(tree))  # given, even at their defaults
    return cfg


def load_run_config(run: Path) -> Config:
    """The config a run directory was trained with; a one-line error naming the directory
    when it is not one (a mistyped path would otherwise read as a missing config file)."""
    if not run.is_dir():
        raise ConfigError(f"{run}: no such run directory")
    if not (run / "config.yaml").is_file():
        raise ConfigError(f"{run}: not a run directory (no config.yaml)")
    return load_config(run / "config.yaml")


def dump_config(cfg: Config, path: str | Path) -> None:
    """The whole config as YAML; an algorithm's own section only where it is used."""
    tree = to_dict(cfg)
    if cfg.algorithm != "ss":
        tree.pop("ss")
    Path(path).write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
