"""YAML loading that remembers where every value came from (file and line).

Every later validation error can then name the file, line and field, for profiles,
lab configs and credential lists alike.
"""
from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError

Origin = tuple[str, int]          # (file, line)
Origins = dict[tuple, Origin]     # key path -> origin


class _Loader(yaml.SafeLoader):
    pass


# libyaml's parser when PyYAML has it (some fifty times faster than the pure-Python one);
# the constructor stays the safe Python one
_Fast = getattr(yaml, "CSafeLoader", _Loader)


def _construct(node, file: str, path: tuple, origins: Origins, loader=None) -> Any:
    if loader is None:
        loader = _Loader("")
        try:
            return _construct(node, file, path, origins, loader)
        finally:
            loader.dispose()
    origins[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError("mapping keys must be plain strings", file,
                                 key_node.start_mark.line + 1, ".".join(map(str, path)) or None)
            key = key_node.value
            if key in out:
                raise InputError("duplicate key", file, key_node.start_mark.line + 1,
                                 ".".join(map(str, path + (key,))))
            origins[path + (key,)] = (file, key_node.start_mark.line + 1)
            out[key] = _construct(value_node, file, path + (key,), origins, loader)
            origins[path + (key,)] = (file, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, file, path + (i,), origins, loader)
                for i, v in enumerate(node.value)]
    return _scalar(node, loader)


def _scalar(node, loader) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except Exception as exc:          # e.g. "!!int" with no digits: PyYAML's IndexError
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read this value as {node.tag} (not shown: it may be "
            f"a secret): "
            f"{type(exc).__name__}", node.start_mark) from None


MAX_BYTES = 1 << 20          # profiles, lab configs and credential lists are small
MAX_DEPTH = 32
MAX_NODES = 50_000           # values: the largest shipped file has a few thousand


def _read(path: Path, file: str) -> str:
    """A regular file of at most MAX_BYTES (never a FIFO or a device: they would hang or
    never end)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file", file)
        if st.st_size > MAX_BYTES:
            raise InputError(f"larger than {MAX_BYTES} bytes", file)
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError("file not found", file) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES} bytes", file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file) from None


def _screen(text: str, file: str) -> None:
    """Refuse aliases (an alias bomb expands a few hundred bytes into gigabytes; our files
    need none) and nesting deeper than MAX_DEPTH, from the event stream alone."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Fast):
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise InputError(f"more than {MAX_NODES} values: not a profile, lab config or "
                                 "credential list", file, event.start_mark.line + 1)
        if isinstance(event, yaml.AliasEvent):
            raise InputError("YAML aliases (*name) are not accepted in this file", file,
                             event.start_mark.line + 1)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels", file,
                                 event.start_mark.line + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load(path: str | Path) -> tuple[Any, Origins]:
    """Parse one YAML file into plain data plus an origin map; InputError on any problem."""
    file = str(path)
    text = _read(Path(path), file)
    try:
        _screen(text, file)
        node = yaml.compose(text, Loader=_Fast)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"not valid YAML: {problem}", file,
                         mark.line + 1 if mark else None) from None
    origins: Origins = {}
    if node is None:
        raise InputError("file is empty", file, 1)
    try:
        data = _construct(node, file, (), origins)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise InputError(f"bad value: {getattr(exc, 'problem', exc)}", file,
                         mark.line + 1 if mark else None) from None
    return data, origins


def where(origins: Origins, loc: tuple, default_file: str) -> Origin:
    """The origin of a key path, or of its nearest ancestor that has one."""
    loc = tuple(loc)
    while loc:
        if loc in origins:
            return origins[loc]
        loc = loc[:-1]
    return origins.get((), (default_file, 1))


def data_loc(loc) -> tuple:
    """A pydantic error location as a key path into the YAML data."""
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    return tuple(p for p in loc if not (isinstance(p, str) and p in _PYDANTIC_TAGS))


def pydantic_error(exc, origins: Origins, default_file: str, first=None) -> InputError:
    """Turn the first pydantic ValidationError entry (or `first`) into an InputError with
    file:line."""
    err = first or exc.errors()[0]
    data_loc_ = data_loc(err["loc"])
    file, line = where(origins, data_loc_, default_file)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(msg, file, line, ".".join(str(p) for p in data_loc_) or None)


_PYDANTIC_TAGS = {"str", "int", "dict", "list", "float", "bool", "[key]"}


def validated(model, path: str | Path, mapping: str = ""):
    """A YAML file loaded into a pydantic model; a problem is an InputError naming the file,
    line and field. `mapping`: what the file is, when its top level must be a mapping."""
    from pydantic import ValidationError
    data, origins = load(path)
    if mapping and not isinstance(data, dict):
        raise InputError(f"{mapping} must be a mapping", str(path), 1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, origins, str(path)) from None
