"""Load a profile: follow `extends:`, merge, validate, and report errors as file:line field."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from harness import yamlsrc
from harness.errors import InputError
from harness.profile.schema import DeviceProfile, DeviceType

MAX_DEPTH = 8


def _chain(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict, dict]]:
    """[(file, data, origins)] from the base type down to this file."""
    path = path.resolve()
    if path in seen:
        cycle = " -> ".join(str(p) for p in seen + (path,))
        raise InputError(f"'extends' cycle: {cycle}", str(seen[-1]), None, "extends")
    if len(seen) >= MAX_DEPTH:
        raise InputError(f"'extends' nested deeper than {MAX_DEPTH}", str(path), None, "extends")
    data, origins = yamlsrc.load(path)
    if not isinstance(data, dict):
        raise InputError("a profile must be a mapping of fields", str(path), 1)
    parent = data.get("extends")
    if parent is None:
        return [(path, data, origins)]
    file, line = origins.get(("extends",), (str(path), 1))
    if not isinstance(parent, str):
        raise InputError("must be a path to another profile", file, line, "extends")
    target = (path.parent / parent)
    if not target.exists():
        raise InputError(f"extended profile {parent!r} not found (looked at {target})",
                         file, line, "extends")
    return _chain(target, seen + (path,)) + [(path, data, origins)]


def _merge(chain):
    data: dict = {}
    origins: dict = {}
    for _path, d, o in chain:
        for key, value in d.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
            for loc, origin in o.items():
                if loc and loc[0] == key:
                    origins[loc] = origin
    data.pop("extends", None)
    return data, origins


def _with_chain(err: InputError, chain) -> InputError:
    """A missing field may belong in any file of the extends chain: name them all."""
    if "required field is missing" in err.message and len(chain) > 1:
        files = ", ".join(str(f) for f, _d, _o in chain)
        return InputError(f"{err.message} (looked in the extends chain: {files})",
                          err.file, err.line, err.field)
    return err


def load_type(path: str | Path) -> DeviceType:
    chain = _chain(Path(path))
    data, origins = _merge(chain)
    try:
        return DeviceType.model_validate(data)
    except ValidationError as exc:
        raise _with_chain(yamlsrc.pydantic_error(exc, origins, str(path)), chain) from None


def load_profile(path: str | Path) -> tuple[DeviceProfile, str]:
    """The validated profile and a content hash over every file in its extends chain."""
    chain = _chain(Path(path))
    data, origins = _merge(chain)
    if not (set(data) & INSTANCE_KEYS):
        # a type file given where an instance is expected: say so plainly
        raise InputError("this is a device type, not an instance: an instance "
                         "'extends:' a type and has a 'name:'", str(path), 1, "name")
    try:
        profile = DeviceProfile.model_validate(data)
    except ValidationError as exc:
        raise _with_chain(yamlsrc.pydantic_error(exc, origins, str(path)), chain) from None
    digest = hashlib.sha256()
    for file, _d, _o in chain:
        digest.update(file.read_bytes())
    return profile, "sha256:" + digest.hexdigest()


INSTANCE_KEYS = set(DeviceProfile.model_fields) - set(DeviceType.model_fields)


def is_type_file(path: str | Path) -> bool:
    """A type file (or a type extending another type) holds no unit wiring at all."""
    data, _ = _merge(_chain(Path(path)))
    return not (set(data) & INSTANCE_KEYS)
