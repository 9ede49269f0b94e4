from __future__ import annotations

import pytest
from django.core.cache import cache

from integration.connectors.exstream.client import ExstreamClient
from sandbox.exstream.catalogue import seed_exstream_sandbox
from sandbox.models import ExstreamSandboxSwitches

# A small slice of the sandbox catalogue keeps the tests fast.
TEST_CATALOGUE = [
    "Rights confirmation letter",
    "Royalty statement",
    "Approval notice",
    "Launch announcement e-mail",
]


@pytest.fixture
def exstream(sandbox):
    """The sandbox Exstream with its catalogue seeded and no cached token."""
    cache.clear()
    seed_exstream_sandbox(only=TEST_CATALOGUE)
    yield sandbox
    cache.clear()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(exstream, sleeps):
    def _make(**kwargs) -> ExstreamClient:
        kwargs.setdefault("sleep", sleeps.append)
        return ExstreamClient(**kwargs)

    return _make


@pytest.fixture
def switches(exstream) -> ExstreamSandboxSwitches:
    return ExstreamSandboxSwitches.current()
