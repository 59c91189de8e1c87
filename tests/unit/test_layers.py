"""The layers: plugins import a light API, and no module imports one above its own layer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

AGENT = ROOT / "agent"


def imports(path: Path, top_only: bool = False) -> set[str]:
    """Every module a file imports, at the top or inside functions (TYPE_CHECKING-only imports included); with
    `top_only`, only what it imports as it loads (the statements at its top level, not under TYPE_CHECKING)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body if top_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_import_agent_loads_neither_boto3_nor_the_engine() -> None:
    code = ("import sys, agent; from agent import hookimpl, ObjectEvent, PermanentFailure, MalformedMessage; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'yaml', 'watchdog') "
            "or m.startswith(('agent.engine', 'agent.plugins', 'agent.config', 'agent.desktop'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_version_is_read_only_when_asked_for() -> None:
    """importing importlib.metadata costs a cold start 10–20 ms: `run` never needs it, `--version` and `agent.__version__` do."""
    code = ("import sys, agent, agent.cli; agent.cli.build_parser(); before = 'importlib.metadata' in sys.modules; "
            "print(before, agent.__version__ == agent.api.__version__ != '', 'importlib.metadata' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]
    version = subprocess.run([sys.executable, "-m", "agent", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert version.returncode == 0
    assert version.stdout.startswith("s3-sqs-agent ") and version.stdout.split()[1][0].isdigit()


def test_the_api_module_imports_only_the_standard_library_and_pluggy() -> None:
    allowed = {"__future__", "dataclasses", "datetime", "importlib", "importlib.metadata", "pluggy", "typing"}
    assert {name for name in imports(AGENT / "api.py") if not name.startswith(tuple(f"{a}." for a in allowed))} <= allowed


def test_the_engine_never_imports_the_desktop_the_cli_or_the_plugin_manager() -> None:
    for path in (AGENT / "engine").rglob("*.py"):
        above = {name for name in imports(path) if name.startswith(("agent.desktop", "agent.cli", "agent.plugins"))}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"


def test_the_aws_package_never_imports_the_desktop_the_cli_or_the_plugin_manager() -> None:
    for path in (AGENT / "aws").rglob("*.py"):  # the windows, the tray and the CLI call it, never the other way
        above = {name for name in imports(path) if name.startswith(("agent.desktop", "agent.cli", "agent.plugins"))}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"


def test_lower_modules_do_not_point_back_up() -> None:
    rules = {  # module -> what it must never import
        "config/*.py": ("agent.dirs", "agent.engine", "agent.desktop", "agent.plugins", "agent.aws"),
        "child_commands.py": ("agent.",),
        "aws/config_files.py": ("agent.aws.",),
        # connect: the words a person reads decide nothing; planning only reads; kinds are plain names.
        "aws/connect/kinds.py": ("agent.", "boto3", "botocore"),
        "aws/connect/render.py": ("agent.aws.connect.plan", "agent.aws.connect.apply", "agent.aws.calls", "boto3", "botocore"),
        "aws/connect/read.py": ("agent.aws.connect.apply", "agent.aws.connect.connecting", "agent.aws.connect.disconnecting"),
        "aws/connect/connecting.py": ("agent.aws.connect.apply",),
        "aws/connect/disconnecting.py": ("agent.aws.connect.apply",),
        "errors.py": ("agent.",),
        "dirs.py": ("agent.engine", "agent.config", "agent.desktop", "agent.plugins"),
        "engine/aws.py": ("agent.engine.consumer", "agent.engine.engine"),
        "engine/sqs.py": ("agent.engine.consumer", "agent.engine.engine"),
        "engine/permissions.py": ("agent.engine.", "agent.desktop", "agent.plugins", "agent.aws"),
        # The decision is pure, the hold state only state: neither reaches the queue, the disk or the clock's sleep.
        "engine/policy.py": ("agent.engine.consumer", "agent.engine.sqs", "agent.engine.ledger", "agent.engine.download",
                             "agent.engine.objects", "agent.engine.hold", "boto3", "threading", "time", "os"),
        "engine/hold.py": ("agent.engine.consumer", "agent.engine.sqs", "agent.engine.ledger", "agent.engine.download",
                           "agent.engine.objects", "agent.engine.policy", "boto3", "os"),
        # The consumer's parts point one way: the shell uses them, the disposer carries out what handling decided, and
        # handling (no threads, no queue calls) and what is held (inflight) know neither.
        "engine/handling.py": ("agent.engine.consumer", "agent.engine.disposer", "agent.engine.inflight", "threading",
                               "agent.engine.sqs.Queue", "agent.engine.sqs.DeleteBatcher", "boto3"),
        "engine/inflight.py": ("agent.engine.consumer", "agent.engine.disposer", "agent.engine.handling",
                               "agent.engine.objects", "agent.engine.download", "agent.engine.policy"),
        "engine/disposer.py": ("agent.engine.consumer", "agent.engine.engine", "agent.engine.objects", "agent.engine.download"),
    }
    for pattern, banned in rules.items():
        paths = sorted(AGENT.glob(pattern))
        assert paths, f"agent/{pattern} matches no module"
        for path in paths:
            found = {module for module in imports(path) if module.startswith(banned)}
            assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_in_the_agent() -> None:
    """Imports inside functions and TYPE_CHECKING ones count: a module that needs its caller takes a small protocol. A
    module importing its own package (which Python has always loaded first) is not a cycle."""
    modules = {_module_name(path): path for path in AGENT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        ancestors = {".".join(name.split(".")[:depth]) for depth in range(1, name.count(".") + 1)}
        graph[name] = {found for found in imports(path) if found in modules} - ancestors - {name}
    cycles = []
    for start in sorted(graph):  # a cycle is found from its smallest module, walking only through larger ones
        path, stack, seen = [start], [iter(sorted(graph[start]))], {start}
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                path.pop()
            elif step == start:
                cycles.append(" -> ".join([*path, start]))
                break
            elif step not in seen and step > start:
                seen.add(step)
                path.append(step)
                stack.append(iter(sorted(graph[step])))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
    assert {"agent.aws.profiles", "agent.desktop.windows.settings", "agent.cli.run"} <= set(graph)  # the walk sees them all


def test_the_setup_flow_knows_no_window_and_no_terminal() -> None:
    for path in (AGENT / "setup_flow").glob("*.py"):
        found = {module for module in imports(path) if module.startswith(("agent.desktop", "agent.cli", "tkinter"))}
        assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


def test_the_command_line_loads_only_what_its_command_needs() -> None:
    """`s3-sqs-agent --help` and the parser load neither the desktop, the engine nor boto3: each command imports what
    it needs when it runs."""
    for path in sorted((AGENT / "cli").glob("*.py")):
        heavy = {name for name in imports(path, top_only=True) if name.startswith(("agent.desktop", "agent.engine", "boto3", "agent.aws"))}
        assert not heavy, f"{path.relative_to(ROOT)} imports {sorted(heavy)} as it loads"
