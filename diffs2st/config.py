"""Typed configuration: dataclass schemas filled strictly from YAML/dicts. A typo is an error naming the key."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from .errors import ConfigError

T = TypeVar("T")


def from_dict(schema: type[T], data: Any, where: str = "", require_all: bool = False) -> T:
    """Build dataclass ``schema`` from ``data``; unknown keys, missing keys and wrong types raise `ConfigError`.

    ``require_all`` also refuses keys left to their defaults (for saved configs, which are always complete).
    """
    return _convert(schema, data, where or schema.__name__, require_all)


def to_dict(config: Any) -> Any:
    """Plain YAML-able structure (dicts, lists, scalars) from a dataclass config."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: to_dict(v) for k, v in config.items()}
    return config


def load_yaml(path: str | os.PathLike) -> Any:
    """Parse a YAML file; a missing file or a syntax error is a `ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such config file: {path}")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def load_config(schema: type[T], path: str | os.PathLike, overrides: list[str] | None = None) -> T:
    """Load ``path`` into ``schema``, applying ``key.sub=value`` overrides (values parsed as YAML) first."""
    data = load_yaml(path)
    for item in overrides or []:
        apply_override(data, item)
    return from_dict(schema, data, str(path))


def apply_override(data: dict, item: str) -> None:
    """Set ``a.b.c=value`` inside nested dict ``data`` (the value is parsed as YAML)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, where: str, require_all: bool = False) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, where, require_all)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where, require_all)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, f"{where}[{i}]", require_all) for i, (a, v) in enumerate(zip(args, value)))
        item_type = args[0] if args else Any
        items = [_convert(item_type, v, f"{where}[{i}]", require_all) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        value_type = args[1] if args else Any
        return {str(k): _convert(value_type, v, f"{where}.{k}", require_all) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported schema type {_type_name(tp)}")


def _convert_dataclass(schema: type, value: Any, where: str, require_all: bool) -> Any:
    if dataclasses.is_dataclass(value) and isinstance(value, schema):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a section of {schema.__name__} fields, got {value!r}")
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(fields)})")
    kwargs = {}
    for name, field in fields.items():
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], f"{where}.{name}", require_all)
        elif require_all or (field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING):
            raise ConfigError(f"{where}: missing key {name!r}")
    try:
        return schema(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
