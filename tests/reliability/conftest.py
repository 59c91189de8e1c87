"""The fault tests share the root conftest's fixtures: moto, and the fault proxy in front of it (`proxy`)."""
