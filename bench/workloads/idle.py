"""5. Idle: the agent on an empty queue for a minute, headless and as the tray app (under the test suite's headless
desktop: Xvfb, a session bus and trayer) side by side; requests through a counting proxy, CPU and RSS from /proc."""

from __future__ import annotations

import contextlib
import subprocess
import time
from typing import Any

from bench.agent import agent_home, stop_process
from bench.common import AGENT, ROOT, log
from bench.proxy import CountingProxy
from bench.server import process_cpu, process_rss_mb
from bench.wired import Wired
from bench.workloads import Context
from tests.desktop.harness import Desktop, start_desktop


def idle(context: Context) -> None:
    seconds = context.options.idle_seconds
    log(f"Idle for {seconds:g} s, headless and with the tray (side by side)")
    modes: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        desktop: Desktop | str
        try:
            desktop = stack.enter_context(contextlib.contextmanager(start_desktop)(context.fresh("desktop")))
        except Exception as exc:  # no Xvfb or trayer here: the headless figures still count
            desktop = f"no desktop ({exc})"
        watched: list[tuple[str, subprocess.Popen[str], CountingProxy]] = []
        for mode in ("headless", "tray"):
            if mode == "tray" and isinstance(desktop, str):
                modes[mode] = {"error": desktop}
                continue
            wired = Wired.create(context.server.endpoint)
            proxy = CountingProxy(context.server.port)
            stack.callback(proxy.close)
            folder = context.fresh(f"idle-{mode}")
            config, env = stack.enter_context(agent_home(wired.agent_config(folder, endpoint=proxy.endpoint)))
            command = [*AGENT, "run", "--headless", "--config", str(config)] if mode == "headless" else [*AGENT, "tray", "--config", str(config)]
            if not isinstance(desktop, str) and mode == "tray":
                env.update(DISPLAY=desktop.display, DBUS_SESSION_BUS_ADDRESS=desktop.bus_address, NO_AT_BRIDGE="1")
            process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            stack.callback(stop_process, process)
            watched.append((mode, process, proxy))
        time.sleep(8)  # start-up requests (queue settings, the first receive) are not idle
        before = {}
        for mode, process, proxy in watched:
            if process.poll() is not None:
                modes[mode] = {"error": f"exited with {process.returncode}: {(process.stderr.read() if process.stderr else '')[-300:]}"}
                continue
            before[mode] = (process_cpu(process.pid), proxy.requests)
        time.sleep(seconds)
        for mode, process, proxy in watched:
            if mode not in before or process.poll() is not None:
                modes.setdefault(mode, {"error": "exited during the measurement"})
                continue
            cpu0, requests0 = before[mode]
            modes[mode] = {"requests_per_min": (proxy.requests - requests0) * 60 / seconds,
                           "cpu_percent": 100 * (process_cpu(process.pid) - cpu0) / seconds, "rss_mb": process_rss_mb(process.pid)}
    context.results["idle"] = {"seconds": seconds, "modes": modes}
