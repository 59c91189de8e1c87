"""A StatusNotifier host for the tests, as KDE or GNOME's AppIndicator extension is: owns org.kde.StatusNotifierWatcher,
and reads each registered item's menu over D-Bus (com.canonical.dbusmenu) as the panel does, counting its rebuilds."""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the annotations at runtime.

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusInt32, DBusSignature, DBusStr
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_method, dbus_property, dbus_signal

from tests.desktop.bus_thread import BusThread

DBusStrList = Annotated[list[str], DBusSignature("as")]
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"


@dataclass(frozen=True)
class Signal:
    at: float  # time.monotonic()
    interface: str
    member: str
    body: tuple[Any, ...]


class _Watcher(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.kde.StatusNotifierWatcher")

    @dbus_method()
    def RegisterStatusNotifierItem(self, service: DBusStr) -> None:
        """Recorded with its sender by StatusNotifierHost's message handler, which sees the call first."""

    @dbus_method()
    def RegisterStatusNotifierHost(self, service: DBusStr) -> None:
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> DBusStrList:
        return []

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> DBusInt32:
        return 0

    @dbus_signal()
    def StatusNotifierItemRegistered(self, service: str) -> DBusStr:
        return service


class StatusNotifierHost(BusThread):
    """The watcher and a host on a private bus, on their own thread and event loop."""

    def __init__(self, bus_address: str) -> None:
        super().__init__(bus_address, "StatusNotifier host")
        self.items: list[tuple[str, str]] = []  # (unique bus name, object path) of each registered item
        self.signals: list[Signal] = []  # every signal the items sent since they registered
        self._lock = threading.Lock()

    async def _serve(self, bus: MessageBus) -> None:
        bus.add_message_handler(self._on_message)
        bus.export("/StatusNotifierWatcher", _Watcher())
        for interface in (ITEM, MENU):  # the items' signals: a new title, a new menu layout
            await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus", interface="org.freedesktop.DBus",
                                   member="AddMatch", signature="s", body=[f"type='signal',interface='{interface}'"]))
        await bus.request_name("org.kde.StatusNotifierWatcher")

    def _on_message(self, message: Message) -> None:
        if message.message_type is MessageType.METHOD_CALL and message.member == "RegisterStatusNotifierItem":
            service = str(message.body[0])
            path = service if service.startswith("/") else "/StatusNotifierItem"
            with self._lock:
                self.items.append((str(message.sender), path))
        elif message.message_type is MessageType.SIGNAL and message.interface in (ITEM, MENU):
            with self._lock:
                self.signals.append(Signal(time.monotonic(), str(message.interface), str(message.member), tuple(message.body)))

    # ------------------------------------------------------------ for tests

    def _call(self, destination: str, path: str, interface: str, member: str, signature: str = "",
              body: list[Any] | None = None) -> Any:
        async def call() -> Any:
            assert self._bus is not None
            reply = await self._bus.call(Message(destination=destination, path=path, interface=interface, member=member,
                                                 signature=signature, body=body or []))
            assert reply is not None
            if reply.message_type is MessageType.ERROR:
                raise AssertionError(f"{interface}.{member} failed: {reply.error_name} {reply.body}")
            return reply.body

        return self.run(call())

    def item(self) -> tuple[str, str]:
        """The last item registered (a restarted app registers again)."""
        with self._lock:
            if not self.items:
                raise AssertionError("no StatusNotifier item registered")
            return self.items[-1]

    def property(self, name: str) -> Any:
        sender, path = self.item()
        value = self._call(sender, path, "org.freedesktop.DBus.Properties", "Get", "ss", [ITEM, name])[0]
        return value.value if isinstance(value, Variant) else value

    def menu(self) -> list[dict[str, Any]]:
        """The item's menu as the panel reads it (GetLayout): label, enabled, visible, toggle state and children."""
        sender, _path = self.item()
        _revision, root = self._call(sender, self.property("Menu"), MENU, "GetLayout", "iias", [0, -1, []])

        def entry(node: list[Any]) -> dict[str, Any]:
            identifier, properties, children = node
            values = {key: value.value for key, value in properties.items()}
            return {"id": identifier, "label": values.get("label", ""), "type": values.get("type", "standard"),
                    "enabled": values.get("enabled", True), "visible": values.get("visible", True),
                    "toggle": values.get("toggle-state"), "children": [entry(child.value) for child in children]}

        return entry(root)["children"]

    def click(self, item_id: int) -> None:
        """What the panel sends when a person clicks a menu item."""
        sender, _path = self.item()
        self._call(sender, self.property("Menu"), MENU, "Event", "isvu", [item_id, "clicked", Variant("s", ""), 0])

    def signals_since(self, since: float, member: str) -> list[Signal]:
        with self._lock:
            return [signal for signal in self.signals if signal.at >= since and signal.member == member]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30, what: str = "the tray's item") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except AssertionError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")


def shown(entries: list[dict[str, Any]]) -> list[str]:
    """The labels of the visible entries (separators as "-"), as a person sees the menu."""
    return ["-" if entry["type"] == "separator" else entry["label"] for entry in entries if entry["visible"]]


__all__ = ["Signal", "StatusNotifierHost", "shown"]
