"""The base of every profile model (unknown keys are errors, values are frozen) and the
field types several share: a port, and a secret given as a literal, {env: NAME} or
{file: PATH}, resolved at load time."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, WithJsonSchema
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


SECRET_FILE_MAX = 4096          # a password or key passphrase, never a data file


def _read_secret_file(name: str, base: Path | None) -> str:
    """A regular file of at most SECRET_FILE_MAX bytes; a relative path is taken from the
    profile's own directory (not from wherever the harness was started)."""
    path = Path(name).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise PydanticCustomError("secret_file", "secret file {f} is not a regular file",
                                      {"f": str(path)})
        if st.st_size > SECRET_FILE_MAX:
            raise PydanticCustomError("secret_file", "secret file {f} is larger than {n} "
                                      "bytes", {"f": str(path), "n": SECRET_FILE_MAX})
        with open(path, "rb") as fh:
            data = fh.read(SECRET_FILE_MAX + 1)
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PydanticCustomError("secret_file", "secret file {f} is not UTF-8 text",
                                  {"f": str(path)}) from None
    except OSError as exc:
        raise PydanticCustomError("secret_file", "cannot read secret file {f}: {e}",
                                  {"f": str(path), "e": exc.strerror}) from None


def _secret(value, info: ValidationInfo):
    """A secret is a literal string, {env: NAME} or {file: PATH}; resolved at load time.
    Never a YAML number or boolean: those would be converted, and an error message
    would have to show the value. With context {'defer_secrets': list}, a secret that
    cannot be resolved now is noted there instead of failing (`harness validate`)."""
    ctx = info.context or {}
    if isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    try:
        if isinstance(value, dict) and set(value) == {"env"}:
            name = value["env"]
            if not isinstance(name, str) or name not in os.environ:
                raise PydanticCustomError("secret_env", "environment variable {name} is not set",
                                          {"name": str(name)})
            return SecretStr(os.environ[name])
        if isinstance(value, dict) and set(value) == {"file"}:
            return SecretStr(_read_secret_file(str(value["file"]), ctx.get("base_dir")))
    except PydanticCustomError as exc:
        if "defer_secrets" in ctx:
            ctx["defer_secrets"].append(exc.message())
            return SecretStr("")
        raise
    raise PydanticCustomError("secret", "expected a quoted string, {env: NAME} or "
                              "{file: PATH} (got a YAML {kind}; quote the value)",
                              {"kind": type(value).__name__})


Secret = Annotated[SecretStr, BeforeValidator(_secret), WithJsonSchema({
    "description": "a literal, {env: NAME} or {file: PATH}",
    "anyOf": [{"type": "string"},
              {"type": "object", "properties": {"env": {"type": "string"}},
               "required": ["env"], "additionalProperties": False},
              {"type": "object", "properties": {"file": {"type": "string"}},
               "required": ["file"], "additionalProperties": False}]})]
Port = Annotated[int, Field(ge=1, le=65535)]
