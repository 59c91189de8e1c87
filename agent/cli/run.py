"""The commands that run the engine from the terminal: `run --headless` (with --drain) and `catch-up`."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

from agent import dirs
from agent.api import APP_NAME
from agent.cli.common import EXIT_ERROR, EXIT_GAVE_UP, EXIT_OK, EXIT_USAGE, load_config_or_create, log, say
from agent.hidden_chars import escape_hidden

if TYPE_CHECKING:
    from agent.engine.engine import Engine


def run_headless(args: argparse.Namespace) -> int:
    # No garbage collection while starting: the imports and clients make a large young heap that the collector would
    # walk again and again (a tenth of the start-up's CPU); once started it is frozen, and collection resumes.
    gc.disable()
    try:
        return _run_headless_collected(args)
    finally:
        gc.enable()


def _started() -> None:
    """Start-up is over: what it built lives as long as the process, so the collector need never walk it again."""
    gc.freeze()
    gc.enable()


def _run_headless_collected(args: argparse.Namespace) -> int:
    from agent import logs
    from agent.instance import InstanceLock

    config = load_config_or_create(args.config)
    if config is None:
        return EXIT_USAGE
    logs.setup(args.log_level)
    lock = InstanceLock()
    if not lock.acquire():  # autostart plus a manual start must never mean two consumers
        pid = lock.owner_pid()
        say(f"{APP_NAME} is already running{f' (process {pid})' if pid else ''} for this user; stop it first, "
             "or quit it from the tray.")
        return EXIT_ERROR
    from agent.engine.early import first_receive

    first = first_receive(config, args.drain)  # the queue need not wait for botocore to load (early.py)
    if first is not None:
        log.info("The first receive went out through the AWS Common Runtime while the engine loads")
    from agent.engine.engine import Engine
    from agent.engine.ledger import Ledger
    from agent.plugins.manager import PluginHost

    try:
        engine = Engine(config, Ledger(dirs.ledger_file()), hooks=PluginHost, drain=args.drain, first_receive=first)
    except BaseException:  # a plugin the config names is not installed, say: what was received goes back at once
        if first is not None:
            first.release_untaken()
        raise
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl+C: leave now
        log.info("Stopping (signal %d): finishing or releasing the messages held", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not args.drain:
        try:  # a start that fails (no such folder, the queue's settings) still hands back what was received early
            engine.start()
            _started()
            while not stop.is_set():
                stop.wait(0.2)
        finally:
            engine.stop()
            engine.ledger.close()
        return EXIT_OK

    # Draining: start() runs beside this loop, so even a server that accepts connections and never answers (each
    # botocore call then waits out its read timeout and retries) cannot hold the command past --drain-timeout.
    start_error: list[BaseException] = []

    def start() -> None:
        try:
            engine.start()
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            start_error.append(exc)
        finally:
            _started()

    starter = threading.Thread(target=start, name="start", daemon=True)
    starter.start()
    try:
        held_up = _drain(engine, starter, start_error, stop, args.drain_timeout)
    finally:
        engine.stop()  # also when start() is still waiting for the queue: it then starts nothing
        engine.ledger.close()
    code = EXIT_GAVE_UP if engine.given_up else EXIT_OK
    if held_up is not None:
        why = held_up.replace(" Retrying by itself.", "").rstrip(".")  # it did, until now
        log.error("Gave up after being held up for %s s (--drain-timeout): %s. The messages not handled stay in the "
                  "queue; run again once this is fixed.", f"{args.drain_timeout:g}", why)
        code = EXIT_ERROR
    if starter.is_alive():  # blocked in a call to a server that does not answer; nothing is held yet
        logging.shutdown()
        os._exit(code)
    return code


def _drain(engine: Engine, starter: threading.Thread, start_error: list[BaseException], stop: threading.Event,
           timeout: float) -> str | None:
    """Wait until the queue is empty (None) or until the engine has been held up for `timeout` seconds (why).

    Held up: the queue has not answered yet, or the engine waits out a problem (offline, a busy server, or one the
    user must fix). Raises what start() raised: a problem the user must fix is reported at once."""
    held_since: float | None = None
    while not stop.is_set():
        if start_error:
            raise start_error[0]
        if not starter.is_alive() and engine.wait(0.2):
            log.info("The queue is empty; done")
            return None
        reason = engine.held_up()
        now = time.monotonic()
        if reason is None:
            held_since = None
        elif held_since is None:
            held_since = now
        elif timeout and now - held_since >= timeout:
            return reason
        stop.wait(0.2)
    return None


def catch_up(args: argparse.Namespace) -> int:
    from agent import logs
    from agent.engine.catchup import CatchUpProgress
    from agent.engine.engine import Engine
    from agent.engine.ledger import Ledger
    from agent.plugins.manager import PluginHost

    config = load_config_or_create(args.config)
    if config is None:
        return EXIT_USAGE
    logs.setup(args.log_level)
    engine = Engine(config, Ledger(dirs.ledger_file()), hooks=PluginHost)
    shown = [0.0]

    def progress(state: CatchUpProgress) -> None:
        now = time.monotonic()
        if state.done or now - shown[0] >= 2.0:
            shown[0] = now
            log.info("Catch-up: %d listed, %d already here, %d downloaded, %d skipped, %d failed%s", state.listed,
                     state.already, state.downloaded, state.skipped, state.failed, "" if state.done else f" ({state.current})")

    cancel = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt  # a second Ctrl+C: leave now (temporary files are still removed)
        log.info("Stopping the catch-up (signal %d): the downloads running now finish; run it again to go on", signum)
        cancel.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        result = engine.catch_up(args.prefix, args.since, progress=progress, cancel=cancel)
    finally:
        engine.ledger.close()
    for key, reason in result.failures[:20]:
        say(f"  failed: {escape_hidden(key)}: {escape_hidden(reason)}")
    if cancel.is_set():
        return EXIT_ERROR
    return EXIT_GAVE_UP if result.failed else EXIT_OK
