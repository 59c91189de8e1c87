"""Plugins: the public hook specifications, the manager that loads plugins, and the built-in plugins.

Plugin authors import everything they need from `agent`:

    from agent import MalformedMessage, ObjectEvent, PermanentFailure, hookimpl
"""
