"""The customer's order for a run (ISO/IEC 17025 §7.8.2.1 e, f, g): who ordered the tests,
when the items were received, how they were sampled. `harness run --order ORDER.yaml`; the
report names each element, or says it was not given."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness import yamlsrc

NO_SAMPLING = ("no sampling by the laboratory: the items tested are those the customer "
               "submitted")


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    address: str = ""


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order_id: str = Field(min_length=1, description="the lab's reference for the order")
    customer: Customer
    items_received: dt.date = Field(description="the date the items were received")
    sampling: str = Field(NO_SAMPLING, description="how the items were selected")


def load_order(path: str | Path) -> dict:
    return yamlsrc.validated(Order, path, "an order").model_dump(mode="json")
