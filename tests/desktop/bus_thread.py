"""A connection to the tests' private session bus on its own thread and event loop: what the tests' D-Bus services
(the notification server, the StatusNotifier host) run on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self

from dbus_fast.aio import MessageBus


class BusThread:
    """Subclasses export their interfaces and take their names in `_serve`; `start()` returns once they have."""

    def __init__(self, bus_address: str, name: str) -> None:
        self.bus_address = bus_address
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._bus: MessageBus | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"the {self._name} did not start")
        if self._error:
            raise RuntimeError(f"the {self._name} failed: {self._error}")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._connect())
        except BaseException as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            self._loop.run_forever()

    async def _connect(self) -> None:
        self._bus = await MessageBus(bus_address=self.bus_address).connect()
        await self._serve(self._bus)

    async def _serve(self, bus: MessageBus) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._bus is not None:
            self._loop.call_soon_threadsafe(self._bus.disconnect)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 15) -> Any:
        """Run `coroutine` on the bus's loop from a test's thread; returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
