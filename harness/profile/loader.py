"""Load a profile: follow `extends:`, merge, validate, and report errors as file:line field."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from harness import yamlsrc
from harness.errors import InputError
from harness.profile.schema import DeviceProfile, DeviceType

MAX_DEPTH = 8
SECRET_ERRORS = ("secret_env", "secret_file")      # a secret that cannot be read right now


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
    if not parent or not target.is_file():
        raise InputError(f"extended profile {parent!r} not found (looked at {target})",
                         file, line, "extends")
    try:
        return _chain(target, seen + (path,)) + [(path, data, origins)]
    except InputError as exc:
        if seen:
            raise
        raise InputError(f"the profile it extends is not usable: {exc.render()}",
                         file, line, "extends") from None


def _types_hold_no_wiring(chain) -> None:
    """A type is shared by every unit: one unit's wiring (addresses, credentials, serial
    port, outlet) in it would reach every unit, and secrets would be copied around."""
    for _path, d, o in chain[:-1]:
        for key in d:
            if key in INSTANCE_KEYS and key != "extends":
                file, line = o.get((key,), (str(_path), 1))
                raise InputError("belongs in the instance profile (one unit's wiring), not in "
                                 "a device type that every unit extends", file, line, key)


def _merge(chain):
    _types_hold_no_wiring(chain)
    data: dict = {}
    origins: dict = {}
    for _path, d, o in chain:
        for key, value in d.items():
            if key in ("sbom", "firmware_image") and isinstance(value, str) and value:
                value = str(_path.parent.resolve() / value)   # relative to its own file
            if key == "update" and isinstance(value, dict) and \
                    isinstance(value.get("server_cert"), str) and value["server_cert"]:
                value = {**value, "server_cert": str(_path.parent.resolve()
                                                     / value["server_cert"])}
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


def load_profile(path: str | Path, defer_secrets: list | None = None
                 ) -> tuple[DeviceProfile, str]:
    """The validated profile and a content hash over every file in its extends chain.
    Secrets given as {file: PATH} are read relative to the instance file's directory. With
    `defer_secrets` (a list), a secret that cannot be read now is noted there instead of
    being an error (for `harness validate` before the device's secrets exist)."""
    chain = _chain(Path(path))
    data, origins = _merge(chain)
    if not (set(data) & INSTANCE_KEYS):
        # a type file given where an instance is expected: say so plainly
        raise InputError("this is a device type, not an instance: an instance "
                         "'extends:' a type and has a 'name:'", str(path), 1, "name")
    context = {"base_dir": Path(path).resolve().parent}
    try:
        profile = DeviceProfile.model_validate(data, context=context)
    except ValidationError as exc:
        unreadable = [e for e in exc.errors() if e["type"] in SECRET_ERRORS]
        if defer_secrets is None or len(unreadable) < len(exc.errors()):
            others = [e for e in exc.errors() if e["type"] not in SECRET_ERRORS]
            raise _with_chain(yamlsrc.pydantic_error(exc, origins, str(path),
                                                     first=(others or unreadable)[0]),
                              chain) from None
        for e in unreadable:
            file, line = yamlsrc.where(origins, yamlsrc.data_loc(e["loc"]), str(path))
            field = ".".join(map(str, yamlsrc.data_loc(e["loc"])))
            defer_secrets.append(f"{file}:{line}: field '{field}': {e['msg']}")
        profile = DeviceProfile.model_validate(data, context={**context,
                                                              "defer_secrets": []})
    digest = hashlib.sha256()
    for file, _d, _o in chain:
        digest.update(file.read_bytes())
    if profile.sbom and Path(profile.sbom).is_file():
        digest.update(Path(profile.sbom).read_bytes())
    return profile, "sha256:" + digest.hexdigest()


INSTANCE_KEYS = set(DeviceProfile.model_fields) - set(DeviceType.model_fields)


def is_type_file(path: str | Path) -> bool:
    """A type file (or a type extending another type) holds no unit wiring at all."""
    data, _ = _merge(_chain(Path(path)))
    return not (set(data) & INSTANCE_KEYS)


# A lab config is recognised by its scope allowlist; a device file by its product or unit
# fields. Both have a `lab:` key (the lab's identity / the unit's power and link wiring), so
# that key decides nothing.
LAB_KEYS = {"scope", "rate_limits", "timeouts", "actions", "harness_address", "labgrid"}
DEVICE_KEYS = {"extends", "name"} | set(DeviceType.model_fields)


def detect_kind(path: str | Path) -> str:
    """'lab', 'type' or 'profile', decided from the file's content; InputError when the
    content fits both or neither (then --kind decides)."""
    data, _ = yamlsrc.load(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of fields (a device profile or a lab config)",
                         str(path), 1)
    lab, device = set(data) & LAB_KEYS, set(data) & DEVICE_KEYS
    if isinstance(data.get("lab"), dict) and "name" in data["lab"]:
        lab.add("lab.name")           # the lab's identity; a unit's `lab:` has power/link
    if lab and device:
        raise InputError(f"ambiguous: has lab-config fields ({', '.join(sorted(lab))}) and "
                         f"device fields ({', '.join(sorted(device))}); pass --kind "
                         "profile|type|lab", str(path), 1)
    if lab:
        return "lab"
    if not device:
        raise InputError("neither a device profile (name:, extends:, vendor: ...) nor a lab "
                         "config (scope: ...); pass --kind profile|type|lab", str(path), 1)
    return "type" if is_type_file(path) else "profile"
