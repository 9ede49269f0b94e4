from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from tests.integration.exstream.conftest import exstream, make_client, sleeps, switches

__all__ = ["exstream", "make_client", "sleeps", "switches"]

REPO = Path(__file__).resolve().parents[4]
# CI clones the repository elsewhere with shared/ beside it: resolve from the repo root.
REFERENCE = REPO.parent / "shared" / "reference"
OPENAPI = REFERENCE / "exstream-openapi"


def _load() -> tuple[dict[str, Any], dict[str, Any]]:
    runtime = json.loads((OPENAPI / "exstream-orchestration-v1.json").read_text())
    ondemand = yaml.safe_load((OPENAPI / "exstream-orchestration-v1.yaml").read_text())
    return runtime, ondemand


@pytest.fixture(scope="session")
def openapi() -> dict[str, dict[str, Any]]:
    if not OPENAPI.is_dir():
        pytest.fail(f"The Exstream contract files are missing: {OPENAPI} (shared/ beside the repo)")
    runtime, ondemand = _load()
    return {"runtime": runtime, "ondemand": ondemand}


def schema_properties(spec: dict[str, Any], name: str) -> set[str]:
    return set(spec["components"]["schemas"][name].get("properties", {}))


def path_matches(template: str, path: str) -> bool:
    pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
    return re.match(pattern, path) is not None


def sandbox_extensions() -> set[str]:
    """Names listed under 'Sandbox-only extensions' in docs/exstream.md (first column)."""
    text = (REPO / "docs" / "exstream.md").read_text()
    section = text.split("## Sandbox-only extensions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", section, flags=re.M))


def schema_errors(spec: dict[str, Any], name: str, instance: Any) -> list[str]:
    """Where ``instance`` breaks the OpenAPI component schema ``name``: types, enums and
    formats (``uuid``, ``date-time``), nested ``$ref``s resolved within the spec's own
    components. OpenAPI 3.0 schema objects are JSON Schema with extra keywords (``example``,
    ``nullable``) that a validator ignores; 2020-12 is the draft that knows the ``uuid`` format.
    The schemas do not close their objects, so pair this with ``schema_properties`` to catch
    undocumented fields."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return [
        "/".join(str(p) for p in error.instance_path) + f": {error.message}"
        for error in validator.iter_errors(instance)
    ]
