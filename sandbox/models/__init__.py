"""Sandbox state, one module per emulated system; import them here so Django sees them."""

from sandbox.models.consonance import (
    SandboxContact,
    SandboxContract,
    SandboxProduct,
    SandboxState,
    SandboxWork,
)

__all__ = ["SandboxContact", "SandboxContract", "SandboxProduct", "SandboxState", "SandboxWork"]
