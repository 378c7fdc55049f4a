"""Layer 3: helpers built on the public client API only (tools, the tool runner,
structured outputs, conversations and their stores)."""
