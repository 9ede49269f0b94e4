"""Sandbox state, one module per emulated system; import them here so Django sees them."""

from sandbox.models.consonance import (
    SandboxContact,
    SandboxContract,
    SandboxProduct,
    SandboxState,
    SandboxWork,
)
from sandbox.models.exstream import (
    ExstreamSandboxCommunication,
    ExstreamSandboxEmailEvent,
    ExstreamSandboxJob,
    ExstreamSandboxSwitches,
    ExstreamSandboxToken,
)

__all__ = [
    "ExstreamSandboxCommunication",
    "ExstreamSandboxEmailEvent",
    "ExstreamSandboxJob",
    "ExstreamSandboxSwitches",
    "ExstreamSandboxToken",
    "SandboxContact",
    "SandboxContract",
    "SandboxProduct",
    "SandboxState",
    "SandboxWork",
]
