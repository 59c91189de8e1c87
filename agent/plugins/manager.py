"""Loads the built-in plugins and the installed plugins a config names, and calls their hooks in isolation."""

from __future__ import annotations

import inspect
import logging
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import pluggy

from agent import PROJECT_NAME
from agent.config import Config
from agent.engine.events import ObjectEvent
from agent.errors import ConfigError, ConfigProblem
from agent.plugins import hookspecs
from agent.plugins.builtin import filters, formats, layout

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PROJECT_NAME
BUILTIN_PLUGINS: tuple[tuple[str, object], ...] = (
    ("builtin:formats", formats),
    ("builtin:filters", filters.IncludeExclude()),
    ("builtin:layout", layout.KeepPrefixes()),
)


class PluginError(Exception):
    """A plugin raised. Names the plugin, so the user knows whom to blame."""

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        self.plugin, self.hook, self.error = plugin, hook, error
        super().__init__(f"plugin {plugin!r} failed in {hook}: {type(error).__name__}: {error}")


def installed_plugins() -> dict[str, metadata.EntryPoint]:
    """Plugins installed in this Python environment, by name (the entry-point group `s3_sqs_agent`)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _instantiate(loaded: Any, options: dict[str, Any]) -> object:
    """A plugin class is built with its options as keyword arguments; a module or object is used as it is."""
    if inspect.isclass(loaded):
        return loaded(**options)
    if options:
        raise ValueError("this plugin takes no options")
    return loaded


class PluginHost:
    """The agent's plugin manager: built-ins first, then the config's plugins, which are consulted before them."""

    def __init__(self, config: Config | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        for name, plugin in BUILTIN_PLUGINS:
            self.pm.register(plugin, name=name)
        self.loaded: list[str] = []
        if config is not None:
            self._load_configured(config)

    def _load_configured(self, config: Config) -> None:
        file = str(config.source or "<config>")
        installed = installed_plugins()
        problems = []
        for spec in config.plugins:
            entry = installed.get(spec.name)
            if entry is None:
                known = ", ".join(sorted(installed)) or "none"
                problems.append(ConfigProblem(file, f"no installed plugin is named {spec.name!r} (installed: {known})", "plugins", spec.line))
                continue
            try:
                plugin = _instantiate(entry.load(), spec.options)
                self.pm.register(plugin, name=spec.name)
                self.loaded.append(spec.name)
            except (TypeError, ValueError) as exc:
                problems.append(ConfigProblem(file, f"plugin {spec.name!r}: {exc}", "plugins", spec.line))
            except Exception as exc:
                problems.append(ConfigProblem(file, f"plugin {spec.name!r} could not be loaded: {type(exc).__name__}: {exc}", "plugins", spec.line))
        if problems:
            raise ConfigError(problems)

    # ------------------------------------------------------------ isolated hook calls

    def _call(self, hook_name: str, **kwargs: Any) -> Any:
        hook = getattr(self.pm.hook, hook_name)
        try:
            return hook(**kwargs)
        except Exception as exc:
            raise PluginError(self._culprit(hook, exc), hook_name, exc) from exc

    @staticmethod
    def _culprit(hook: Any, exc: BaseException) -> str:
        """The plugin whose code raised, found by walking the traceback back to a hook implementation."""
        owners = {impl.function.__code__: impl.plugin_name for impl in hook.get_hookimpls() if hasattr(impl.function, "__code__")}
        tb = exc.__traceback__
        culprit = "unknown"
        while tb is not None:
            if tb.tb_frame.f_code in owners:
                culprit = owners[tb.tb_frame.f_code]
            tb = tb.tb_next
        return culprit

    def parse_message(self, body: str, attributes: dict[str, Any]) -> list[ObjectEvent] | None:
        return self._call("agent_parse_message", body=body, attributes=attributes)

    def accepts(self, event: ObjectEvent) -> bool:
        return all(verdict is not False for verdict in self._call("agent_filter", event=event))

    def local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> str | PurePosixPath:
        chosen = self._call("agent_local_path", event=event, default_path=default_path)
        return default_path if chosen is None else chosen

    def object_downloaded(self, event: ObjectEvent, path: Path) -> None:
        self._call("agent_object_downloaded", event=event, path=path)

    def object_failed(self, event: ObjectEvent | None, reason: str) -> None:
        try:
            self._call("agent_object_failed", event=event, reason=reason)
        except PluginError as exc:
            log.error("%s", exc)

    def startup(self, config: Config) -> None:
        """Give every plugin the config. A plugin that fails here is unregistered, and the agent goes on."""
        for name, plugin in list(self.pm.list_name_plugin()):
            caller = self.pm.subset_hook_caller("agent_startup", remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin])
            try:
                caller(config=config)
            except Exception as exc:
                log.error("Plugin %r failed to start and was disabled: %s: %s", name, type(exc).__name__, exc)
                self.pm.unregister(plugin)
                if name in self.loaded:
                    self.loaded.remove(name)

    def shutdown(self) -> None:
        try:
            self._call("agent_shutdown")
        except PluginError as exc:
            log.error("%s", exc)
