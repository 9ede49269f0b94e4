from __future__ import annotations

import pytest

from accounts.models import Territory
from tests.factories import TerritoryFactory


@pytest.fixture
def territories(db) -> dict[str, Territory]:
    """GB, US, FR, DE countries; EU (FR, DE) and WORLD groups."""
    out = {
        code: TerritoryFactory.create(code=code, name=code)
        for code in ("GB", "US", "FR", "DE", "IE")
    }
    eu = TerritoryFactory.create(code="EU", name="European Union", kind=Territory.Kind.GROUP)
    eu.members.set([out["FR"], out["DE"], out["IE"]])
    out["EU"] = eu
    out["WORLD"] = TerritoryFactory.create(code="WORLD", name="World", kind=Territory.Kind.GROUP)
    return out
