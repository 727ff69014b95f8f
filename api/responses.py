"""A JSON response that writes numpy arrays and NaN (as null) directly through orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSON(JSONResponse):
    """JSON via orjson, numpy-aware; used where answers carry large arrays."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
