"""Plain data classes shared by the scripts (no web framework here)."""
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Note:
    id: int
    title: str
    body: str = ""
    tags: list = field(default_factory=list)
    created: datetime = field(default_factory=datetime.now)

    def summary(self, width=60):
        text = self.body.replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Page:
    items: list
    number: int
    size: int
    total: int

    @property
    def last(self):
        return max(1, -(-self.total // self.size))
