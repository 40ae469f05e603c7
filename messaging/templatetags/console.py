"""Template filters for the console's pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """JSON as a person reads it: indented, non-ASCII kept (autoescaped by the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False)
