"""The OpenAPI document the SPA's typed client is generated from (`make web-api`).

Inline body schemas carry their own `$defs` (FastAPI leaves them there), which generators
cannot resolve from the document root: they are hoisted into `components/schemas`. Routes
only agents call (`/agent/...`) are left out; the SPA never calls them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agentry.testing.openapi import load_document


def spa_document() -> dict[str, Any]:
    doc = load_document()
    doc["paths"] = {p: v for p, v in doc["paths"].items() if p.startswith("/v1/")}
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for name, schema in node.pop("$defs", {}).items():
                schemas.setdefault(name, walk(schema))
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
            for key, value in node.items():
                node[key] = walk(value)
        elif isinstance(node, list):
            return [walk(v) for v in node]
        return node

    walk(doc)
    return doc


if __name__ == "__main__":
    json.dump(spa_document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
