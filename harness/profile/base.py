"""The base of every profile model: unknown keys are errors, values are frozen."""
from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
