"""Loads the built-in plugins and the installed plugins a config names, and calls their hooks in isolation."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, cast

import pluggy

from agent.api import PROJECT_NAME, ObjectEvent, RejectedRecord
from agent.config import Config, did_you_mean
from agent.engine.hooks import PluginError
from agent.errors import ConfigError, ConfigProblem
from agent.plugins import hookspecs
from agent.plugins.builtin import filters, formats, layout

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = PROJECT_NAME
BUILTIN_PREFIX = "builtin:"

BUILTIN_PLUGINS: tuple[tuple[str, Callable[[], object]], ...] = (
    ("builtin:formats", lambda: formats),  # a stateless module
    ("builtin:filters", filters.IncludeExclude),  # classes: a fresh instance for every host, never shared
    ("builtin:layout", layout.KeepPrefixes),
)
"""The agent's own behaviours, as plugins. Factories, so two engines (or a reload) never share their state."""

HOOK_NAMES: frozenset[str] = frozenset(name for name in dir(hookspecs) if name.startswith("agent_"))
NOTIFY_HOOKS = frozenset({"agent_object_failed", "agent_shutdown"})
"""Hooks that only tell plugins something: one plugin failing never stops the others hearing it."""


class BadReturnValue(TypeError):
    """A hook returned a value of the wrong type."""


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as the tray's About box and `config validate` show it."""

    name: str
    builtin: bool
    distribution: str | None = None
    version: str | None = None
    status: str = "loaded"
    """`loaded`, or why it was disabled (a plugin whose agent_startup raised)."""


def installed_plugins() -> dict[str, metadata.EntryPoint]:
    """Plugins installed in this Python environment, by name (the entry-point group `s3_sqs_agent`)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def check_options(plugin: type, options: dict[str, Any]) -> None:
    """Name an unknown or missing option clearly, before the class sees them. Raises ValueError."""
    try:
        parameters = inspect.signature(plugin).parameters.values()
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return  # the plugin checks its own options
    named = [p for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    known = [p.name for p in named]
    for option in options:
        if option not in known:
            if not known:
                raise ValueError("this plugin takes no options")
            raise ValueError(f"unknown option {option!r}{did_you_mean(option, known)} (its options are: {', '.join(known)})")
    for parameter in named:
        if parameter.default is inspect.Parameter.empty and parameter.name not in options:
            raise ValueError(f"option {parameter.name!r} is required")


def instantiate(loaded: Any, options: dict[str, Any]) -> object:
    """A plugin class is built with its options as keyword arguments; a module or object is used as it is."""
    if inspect.isclass(loaded):
        check_options(loaded, options)
        return loaded(**options)
    if options:
        raise ValueError("this plugin takes no options")
    return loaded


class PluginHost:
    """The agent's plugin manager: the config's plugins, in the config's order, then the built-ins.

    Every hook implementation is registered through a guard, so whatever a plugin raises leaves this class
    as a PluginError that names the plugin, and a plugin that returns the wrong type is caught at once.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._lock = threading.Lock()
        self._failed_to_start: list[str] = []
        self._configured: list[str] = []
        self.download_folder: Path | None = config.download_folder if config else None
        self.loaded: list[str] = []
        """The config's plugins that are running, in the order they are called."""
        for name, factory in BUILTIN_PLUGINS:
            self.register(factory(), name)
        if config is not None:
            self._load_configured(config)

    # ------------------------------------------------------------ loading

    def register(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object under `name`, through the guard. Raises pluggy.PluginValidationError or ValueError."""
        proxy = self._guard(plugin, name)
        self.pm.register(proxy, name=name)
        self._info[name] = info or PluginInfo(name, builtin=name.startswith(BUILTIN_PREFIX))

    def _load_configured(self, config: Config) -> None:
        file = str(config.source or "<config>")
        installed = installed_plugins() if config.plugins else {}  # reading every distribution's entry points costs
        problems: list[ConfigProblem] = []
        built: list[tuple[str, object, PluginInfo]] = []
        seen: dict[str, int] = {}
        for spec in config.plugins:
            entry = installed.get(spec.name)
            if entry is None:
                known = ", ".join(sorted(installed)) or "none"
                problems.append(ConfigProblem(file, f"no installed plugin is named {spec.name!r}{did_you_mean(spec.name, installed)} "
                                              f"(installed: {known})", "plugins", spec.line))
                continue
            seen[spec.name] = seen.get(spec.name, 0) + 1
            name = spec.name if seen[spec.name] == 1 else f"{spec.name}#{seen[spec.name]}"
            try:
                plugin = instantiate(entry.load(), spec.options)
                unknown = self._unknown_hooks(plugin)
                if unknown:
                    raise ValueError(f"it implements {unknown[0]!r}, which is not a hook (the hooks are: {', '.join(sorted(HOOK_NAMES))})")
            except (TypeError, ValueError) as exc:
                problems.append(ConfigProblem(file, f"plugin {spec.name!r}: {exc}", "plugins", spec.line))
                continue
            except Exception as exc:  # noqa: BLE001  an import error, or a bug in the plugin's __init__
                problems.append(ConfigProblem(file, f"plugin {spec.name!r} could not be loaded: {type(exc).__name__}: {exc}", "plugins", spec.line))
                continue
            dist = getattr(entry, "dist", None)
            built.append((name, plugin, PluginInfo(name, False, dist.name if dist else None, dist.version if dist else None)))
        # pluggy calls the plugin registered last first: register in reverse, so the config's order is the call order.
        for name, plugin, info in reversed(built):
            try:
                self.register(plugin, name, info)
            except (pluggy.PluginValidationError, ValueError) as exc:
                problems.append(ConfigProblem(file, f"plugin {name!r}: {exc}", "plugins",
                                              next((s.line for s in config.plugins if name.startswith(s.name)), None)))
        if problems:
            raise ConfigError(problems)
        self.loaded = [name for name, _, _ in built]
        self._configured = list(self.loaded)

    def _unknown_hooks(self, plugin: object) -> list[str]:
        names = []
        for attr in dir(plugin):
            opts = self._impl_opts(plugin, attr)
            if opts is not None and not opts.get("optionalhook"):
                hook = opts.get("specname") or attr
                if hook not in HOOK_NAMES:
                    names.append(hook)
        return names

    def _impl_opts(self, plugin: object, attr: str) -> dict[str, Any] | None:
        try:
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
        except Exception:  # noqa: BLE001  an attribute that cannot be read is not a hook
            return None
        return dict(opts) if opts is not None else None

    def _guard(self, plugin: object, name: str) -> object:
        """A stand-in for `plugin` whose hook implementations raise PluginError(name, ...) instead of whatever they raise."""
        proxy = _Guarded(name)
        for attr in dir(plugin):
            opts = self._impl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            hook = opts.get("specname") or attr
            if opts.get("wrapper") or opts.get("hookwrapper"):
                guarded = function  # a generator: pluggy drives it; errors are traced back in _call
            else:
                guarded = self._guarded_function(function, name, hook)
                setattr(guarded, PROJECT_NAME + "_impl", opts)
            setattr(proxy, attr, guarded)
        return proxy

    def _guarded_function(self, function: Callable[..., Any], name: str, hook: str) -> Callable[..., Any]:
        builtin = name.startswith(BUILTIN_PREFIX)

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = _checked(hook, function(*args, **kwargs), name, builtin)
                if hook == "agent_object_downloaded" and result is not None:
                    return self._moved_file(result)
                return result
            except (Exception, SystemExit) as exc:  # a plugin calling sys.exit() must not stop a worker either
                error = PluginError(name, hook, exc)
                if hook in NOTIFY_HOOKS:
                    log.error("%s", error, exc_info=exc)
                    return None
                if hook == "agent_startup":
                    self._disable(name, f"{type(exc).__name__}: {exc}")
                    log.error("Plugin %r failed to start and was disabled: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
                    return None
                raise error from exc

        return guarded

    def _moved_file(self, returned: str | PurePath) -> Path:
        """The path a plugin says it moved the file to: relative ones are inside download_folder; a file must be there."""
        path = Path(returned)
        if not path.is_absolute() and self.download_folder is not None:
            path = self.download_folder / path
        if not path.is_file():
            raise BadReturnValue(f"returned {str(returned)!r} as the file's new place, but no file is there")
        return path

    def _disable(self, name: str, reason: str) -> None:
        with self._lock:
            info = self._info.get(name)
            if info is not None:
                self._info[name] = dataclasses.replace(info, status=f"disabled: failed to start ({reason})")
            self._failed_to_start.append(name)

    # ------------------------------------------------------------ what is loaded

    def describe(self) -> list[PluginInfo]:
        """Every plugin, in the order its hooks are consulted: the config's first, then the built-ins."""
        configured = [self._info[name] for name in self._configured if name in self._info]
        return configured + [info for info in self._info.values() if info.builtin]

    # ------------------------------------------------------------ isolated hook calls

    def _call(self, hook_name: str, **kwargs: Any) -> Any:
        hook = getattr(self.pm.hook, hook_name)
        if not hook.get_hookimpls():  # no plugin implements it: skip pluggy's call machinery (every file passes here)
            return None if hook.spec is not None and hook.spec.opts.get("firstresult") else []
        try:
            return hook(**kwargs)
        except PluginError:
            raise
        except Exception as exc:  # raised by a hook wrapper, which is not guarded
            raise PluginError(self._culprit(hook, exc), hook_name, exc) from exc

    @staticmethod
    def _culprit(hook: Any, exc: BaseException) -> str:
        """The plugin whose code raised, found by walking the traceback back to a hook implementation."""
        owners = {}
        for impl in hook.get_hookimpls():
            code = getattr(inspect.unwrap(impl.function), "__code__", None)
            if code is not None:
                owners[code] = impl.plugin_name
        tb = exc.__traceback__
        culprit = "unknown"
        while tb is not None:
            culprit = owners.get(tb.tb_frame.f_code, culprit)
            tb = tb.tb_next
        return culprit

    def parse_message(self, body: str, attributes: dict[str, Any]) -> list[ObjectEvent | RejectedRecord] | None:
        items = self._call("agent_parse_message", body=body, attributes=attributes)
        if items is None:
            return None
        message_id = str(attributes.get("MessageId", ""))
        return [dataclasses.replace(item, message_id=message_id) if isinstance(item, ObjectEvent) and not item.message_id
                else item for item in items]

    def accepts(self, event: ObjectEvent) -> bool:
        return all(verdict is not False for verdict in self._call("agent_filter", event=event))

    def local_path(self, event: ObjectEvent, default_path: PurePosixPath) -> str | PurePosixPath:
        chosen = self._call("agent_local_path", event=event, default_path=default_path)
        if chosen is None:
            return default_path
        if self.download_folder is not None and Path(chosen).is_absolute():
            try:  # a path the plugin built from download_folder: use it as meant; anything else is made relative
                return PurePosixPath(Path(chosen).relative_to(self.download_folder).as_posix())
            except ValueError:
                pass
        return cast("str | PurePosixPath", chosen)  # checked by _checked() when the plugin returned it

    def object_downloaded(self, event: ObjectEvent, path: Path) -> Path:
        """Run every plugin's after-download step; returns where the file is now (the last move a plugin reported)."""
        moves = self._call("agent_object_downloaded", event=event, path=path)
        return moves[-1] if moves else path

    def object_failed(self, event: ObjectEvent | None, reason: str) -> None:
        try:
            self._call("agent_object_failed", event=event, reason=reason)
        except PluginError as exc:  # only a hook wrapper gets here; plain implementations log their own errors
            log.error("%s", exc)

    def startup(self, config: Config) -> None:
        """Give every plugin the config. A plugin that fails here is unregistered, and the agent goes on without it."""
        self.download_folder = config.download_folder
        self._failed_to_start = []
        try:
            self._call("agent_startup", config=config)
        except PluginError as exc:
            log.error("%s", exc)
        for name in self._failed_to_start:
            self.pm.unregister(name=name)
            if name in self.loaded:
                self.loaded.remove(name)

    def shutdown(self) -> None:
        try:
            self._call("agent_shutdown")
        except PluginError as exc:
            log.error("%s", exc)


class _Guarded:
    """What pluggy registers for a plugin: its hook implementations, each wrapped by PluginHost._guard."""

    def __init__(self, name: str) -> None:
        self._plugin_name = name

    def __repr__(self) -> str:
        return f"<plugin {self._plugin_name!r}>"


def _checked(hook: str, result: Any, name: str, builtin: bool) -> Any:
    """The hook's result if it has the type the hook promises; the parse hook's events carry the parser's name."""
    if result is None:
        return None
    if hook == "agent_parse_message":
        if not isinstance(result, (list, tuple)) or not all(isinstance(e, (ObjectEvent, RejectedRecord)) for e in result):
            raise BadReturnValue(f"returned {_short(result)}; expected a list of agent.ObjectEvent (and agent.RejectedRecord), or None")
        for item in result:
            if isinstance(item, RejectedRecord):
                if not isinstance(item.reason, str) or not item.reason or not isinstance(item.body, str):
                    raise BadReturnValue(f"returned a rejected record without a reason or body: {_short(item)}")
            elif not isinstance(item.bucket, str) or not item.bucket or not isinstance(item.key, str) or not item.key:
                raise BadReturnValue(f"returned an event without a bucket or key: {_short(item)}")
        if builtin:
            return list(result)
        return [dataclasses.replace(e, source=name) if isinstance(e, ObjectEvent) else e for e in result]
    if hook == "agent_filter" and not isinstance(result, bool):
        raise BadReturnValue(f"returned {_short(result)}; expected True, False or None")
    if hook == "agent_local_path" and not isinstance(result, (str, PurePath)):
        raise BadReturnValue(f"returned {_short(result)}; expected a path (str or pathlib path) or None")
    if hook == "agent_object_downloaded" and not isinstance(result, (str, PurePath)):
        raise BadReturnValue(f"returned {_short(result)}; expected the file's new path if the plugin moved it, or None")
    return result


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
