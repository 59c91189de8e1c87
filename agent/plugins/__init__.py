"""Plugins: the public hook specifications, the manager that loads plugins, and the built-in plugins.

Plugin authors import the marker and the types from `agent`, and the give-up exception from here:

    from agent import MalformedMessage, ObjectEvent, hookimpl
    from agent.plugins import PermanentFailure
"""

from __future__ import annotations

from agent.engine.retry import PermanentFailure

__all__ = ["PermanentFailure"]
