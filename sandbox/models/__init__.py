"""Sandbox state, one module per emulated system; import them here so Django sees them."""
