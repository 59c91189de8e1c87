"""The installers' build scripts and their Wine tools (not part of the package: the wheel holds agent/ only)."""
