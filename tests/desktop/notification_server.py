"""A tiny org.freedesktop.Notifications server for the tests: records every Notify and CloseNotification call."""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the annotations at runtime.

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from tests.desktop.bus_thread import BusThread

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusServerInfo = Annotated[tuple[str, str, str, str], DBusSignature("ssss")]
DBusIdAndReason = Annotated[tuple[int, int], DBusSignature("uu")]
DBusIdAndAction = Annotated[tuple[int, str], DBusSignature("us")]
CAPABILITIES = ("body", "actions")


@dataclass(frozen=True)
class Notification:
    id: int
    app_name: str
    summary: str
    body: str
    actions: tuple[str, ...]
    replaces_id: int
    app_icon: str = ""
    """The icon sent with it: a file:// URI, an icon name, or "" for none."""


class _Interface(ServiceInterface):
    def __init__(self, server: "NotificationServer") -> None:
        super().__init__("org.freedesktop.Notifications")
        self._server = server

    @dbus_method()
    def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr, summary: DBusStr, body: DBusStr,
               actions: DBusStrList, hints: DBusDict, expire_timeout: DBusInt32) -> DBusUInt32:
        return self._server._record(Notification(0, app_name, summary, body, tuple(actions), replaces_id, app_icon))

    @dbus_method()
    def CloseNotification(self, id: DBusUInt32) -> None:
        with self._server._lock:
            self._server.closed.append(id)
        self.NotificationClosed(id, 3)

    @dbus_method()
    def GetCapabilities(self) -> DBusStrList:
        return list(self._server.capabilities)

    @dbus_method()
    def GetServerInformation(self) -> DBusServerInfo:
        return ("recording-test-server", "s3-sqs-agent tests", "1.0", "1.2")

    @dbus_signal()
    def NotificationClosed(self, id: int, reason: int) -> DBusIdAndReason:
        return (id, reason)

    @dbus_signal()
    def ActionInvoked(self, id: int, action_key: str) -> DBusIdAndAction:
        return (id, action_key)


class NotificationServer(BusThread):
    """Owns org.freedesktop.Notifications on a private bus, on its own thread and event loop."""

    def __init__(self, bus_address: str) -> None:
        super().__init__(bus_address, "notification server")
        self.notifications: list[Notification] = []
        self.closed: list[int] = []
        self.capabilities = CAPABILITIES
        """What GetCapabilities answers; a test may add "body-markup", as GNOME's and KDE's servers have."""
        self._lock = threading.Lock()
        self._next_id = 1
        self._interface = _Interface(self)

    async def _serve(self, bus: MessageBus) -> None:
        bus.export("/org/freedesktop/Notifications", self._interface)
        await bus.request_name("org.freedesktop.Notifications")

    def _record(self, notification: Notification) -> int:
        with self._lock:
            identifier = self._next_id
            self._next_id += 1
            self.notifications.append(dataclasses.replace(notification, id=identifier))
        return identifier

    # ------------------------------------------------------------ for tests

    def clear(self) -> None:
        with self._lock:
            self.notifications.clear()
            self.closed.clear()

    def snapshot(self) -> list[Notification]:
        with self._lock:
            return list(self.notifications)

    def wait_for(self, predicate: Callable[[Notification], bool], timeout: float = 30, what: str = "a notification") -> Notification:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for notification in self.snapshot():
                if predicate(notification):
                    return notification
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; got: {[(n.summary, n.body) for n in self.snapshot()]}")

    def click(self, notification_id: int) -> None:
        """Act as if the user clicked the notification's body (the "default" action)."""
        self._loop.call_soon_threadsafe(self._interface.ActionInvoked, notification_id, "default")

    def matching(self, predicate: Callable[[Notification], bool]) -> list[Notification]:
        return [n for n in self.snapshot() if predicate(n)]


def text_of(notification: Notification) -> str:
    return f"{notification.summary}\n{notification.body}"


__all__ = ["Notification", "NotificationServer", "text_of"]
