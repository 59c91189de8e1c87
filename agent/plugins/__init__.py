"""Plugins: the public hook specifications, the manager that loads plugins, and the built-in plugins."""
