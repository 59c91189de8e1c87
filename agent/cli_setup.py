"""`s3-sqs-agent setup`: the setup window's questions in a terminal (answers may be piped), then the doctor's checks."""

from __future__ import annotations

import getpass
import re
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from agent.api import APP_NAME, APP_TITLE
from agent.errors import AgentError, ConfigError, SignInError

DEFAULT_FOLDER = "~/S3 Downloads"
DEFAULT_KEY_PROFILE = APP_NAME
SHOWN_QUEUES = 30
ATTEMPTS = 5  # a question asked again after a bad answer; then setup stops (a pipe would loop forever)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class SetupStopped(AgentError):
    """Setup cannot go on: stdin ended before a question without a default, or the same question failed repeatedly."""

    title = "Setup stopped"


@dataclass(frozen=True)
class Account:
    """The answer to "which AWS account": a profile, or the ambient credentials (profile None)."""

    profile: str | None
    region: str | None


class Terminal:
    """Asks questions on stdin and stdout; piped answers are echoed so that a log reads like a session."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = bool(getattr(self.stdin, "isatty", lambda: False)())

    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def ask(self, question: str, default: str | None = None, secret: bool = False) -> str:
        """One answer, stripped; Enter takes `default`. SetupStopped when stdin ends and there is no default."""
        prompt = f"{question}{f' [{default}]' if default else ''}: "
        if secret and self.interactive:
            answer: str | None = getpass.getpass(prompt, stream=self.stdout)
        else:
            self.stdout.write(prompt)
            self.stdout.flush()
            line = self.stdin.readline()
            answer = line.rstrip("\r\n") if line else None
            if not self.interactive:
                self.stdout.write(("(hidden)" if secret and answer else answer or "") + "\n")
        if answer is None:
            if default is not None:
                return default
            raise SetupStopped(f"The answers ended before this question: {question.strip()}. Give an answer for each question "
                               f"(run {APP_NAME} setup in a terminal to see them all).")
        return answer.strip() or (default or "")

    def confirm(self, question: str, default: bool = True) -> bool:
        for _ in range(ATTEMPTS):
            answer = self.ask(f"{question} ({'Y/n' if default else 'y/N'})", "").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.say("  Answer y or n.")
        raise SetupStopped(f"No usable answer to: {question}")


def run(config_path: Path, endpoint_url: str | None = None, open_browser: bool = True, terminal: Terminal | None = None) -> int:
    """The whole conversation. Returns the exit code: 0 saved and every check passed, 1 saved with failed checks
    (or not saved, by choice), 2 when setup could not finish."""
    term = terminal or Terminal()
    try:
        return _converse(term, config_path, endpoint_url, open_browser)
    except SetupStopped as exc:
        term.say(f"Setup stopped: {exc}")
        return 2


def _converse(term: Terminal, config_path: Path, endpoint_url: str | None, open_browser: bool) -> int:
    from agent import config as config_module
    from agent.aws import doctor, resources
    from agent.engine.aws import LOCAL_REGION

    current = _current(config_path, term)
    endpoint_url = endpoint_url or current.get("endpoint_url")
    sqs_endpoint = current.get("sqs_endpoint_url") or endpoint_url
    term.say(f"{APP_TITLE} setup. Your answers go to {config_path} (comments in it are kept).")
    term.say("Press Enter to take the answer in [brackets]; Ctrl+C stops without saving.")
    term.say()

    account = _choose_account(term, current, open_browser)
    term.say()
    session = _session(account)
    region = account.region or current.get("aws_region") or session.region_name
    queue_url = _choose_queue(term, account, current, sqs_endpoint, region or (LOCAL_REGION if sqs_endpoint else None))
    term.say()
    try:
        learnt = resources.bucket_from_queue_policy(session, queue_url, sqs_endpoint, region)
    except AgentError:
        learnt = None
    bucket = _choose_bucket(term, learnt, current.get("s3_bucket_name"))
    term.say()
    folder = _choose_folder(term, current.get("download_folder"), config_path)
    term.say()

    changes: dict[str, Any] = {
        "aws_profile": account.profile or config_module.REMOVE,
        "sqs_queue_url": queue_url,
        "s3_bucket_name": bucket or config_module.REMOVE,
        "download_folder": folder,
    }
    if endpoint_url:
        changes["endpoint_url"] = endpoint_url
    url_region = config_module.region_from_queue_url(queue_url)
    if url_region and current.get("aws_region") not in (None, url_region):
        changes["aws_region"] = config_module.REMOVE  # the queue URL names the region
    elif not url_region and region and not current.get("aws_region"):
        changes["aws_region"] = region  # a local endpoint's URL names no region: keep the one the queue was found in
    try:
        _, new_config = config_module.preview_update(config_path, changes)
    except ConfigError as exc:
        term.say(f"These answers do not make a valid config:\n{exc}")
        return 2
    term.say("Checking (the same checks as s3-sqs-agent doctor):")
    checks = doctor.run_checks(new_config, on_result=lambda check: term.say(doctor.format_check(check)))
    term.say(doctor.summary(checks))
    failed = any(check.passed is False for check in checks)
    if failed and not term.confirm("Some checks failed. Save the config anyway, to fix those later?", default=True):
        term.say(f"Nothing was saved. Run {APP_NAME} setup again once the failures above are fixed.")
        return 1
    config_module.update_file(config_path, changes)
    term.say(f"Saved {config_path}.")
    if failed:
        term.say(f"Once the failures above are fixed, {APP_NAME} doctor checks again.")
    term.say(f"Start downloading: {APP_NAME} (the tray app), or {APP_NAME} run --headless. A running agent picks the "
             "change up by itself.")
    return 1 if failed else 0


def _current(config_path: Path, term: Terminal) -> dict[str, Any]:
    """The keys the file sets now (the defaults of the questions); {} for a new or unreadable file."""
    import yaml

    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        term.say(f"The current config cannot be read ({exc}); setup starts from scratch and keeps what it can.")
        return {}
    return {k: v for k, v in data.items() if v not in (None, "")} if isinstance(data, dict) else {}


# ---------------------------------------------------------------- 1. the AWS account


def _choose_account(term: Terminal, current: dict[str, Any], open_browser: bool) -> Account:
    from agent.aws import profiles

    term.say("1. AWS account")
    try:
        found = profiles.list_profiles()
    except profiles.ProfileFileError as exc:
        term.say(f"  {exc}")
        found = []
    ambient = profiles.ambient_credentials()
    options: list[tuple[str, str, Any]] = [(p.name, _describe(p), p) for p in found]
    if ambient:
        options.append((f"Use the {ambient}", "no profile", None))
    options.append(("Add an access key", "as a new profile in the shared credentials file", "add"))
    width = max(len(label) for label, _, _ in options)
    for number, (label, what, _) in enumerate(options, 1):
        term.say(f"  {number}) {label.ljust(width)}  {what}")
    wanted = current.get("aws_profile")
    default = next((n for n, (_, _, o) in enumerate(options, 1) if isinstance(o, profiles.Profile) and o.name == wanted), None)
    if default is None:
        default = len(found) + 1 if ambient else 1
    choice = _pick(term, "Choose", len(options), default)
    chosen = options[choice - 1][2]
    if chosen == "add":
        return _add_access_key(term)
    if chosen is None:
        return Account(None, current.get("aws_region"))
    if chosen.kind == "sso" and not chosen.signed_in:
        _sign_in(term, chosen, open_browser)
    return Account(chosen.name, chosen.region)


def _describe(profile: Any) -> str:
    kinds = {"keys": "access key", "assume-role": "assumed role", "process": "credential process", "other": "profile"}
    if profile.kind != "sso":
        return kinds[profile.kind] + (f", {profile.region}" if profile.region else "")
    if profile.signed_in and profile.sso_expires_at is not None:
        return f"IAM Identity Center, signed in until {_local(profile.sso_expires_at)}"
    return "IAM Identity Center, sign-in needed" + (" (or renewed by itself)" if profile.sso_refreshable else "")


def _local(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%H:%M}" if local.date() == datetime.now().astimezone().date() else f"{local:%Y-%m-%d %H:%M}"


def _pick(term: Terminal, question: str, count: int, default: int) -> int:
    for _ in range(ATTEMPTS):
        answer = term.ask(question, str(default))
        if answer.isdigit() and 1 <= int(answer) <= count:
            return int(answer)
        term.say(f"  Type a number from 1 to {count}.")
    raise SetupStopped(f"No usable answer to: {question}")


def _add_access_key(term: Terminal) -> Account:
    from agent.aws import profiles

    term.say(f"  The key goes into {profiles.credentials_file()} (readable by you only), never into the agent's config.")
    for _ in range(ATTEMPTS):
        name = term.ask("  Profile name", DEFAULT_KEY_PROFILE)
        key_id = term.ask("  Access key ID")
        secret = term.ask("  Secret access key", secret=True)
        region = term.ask("  Region (Enter to skip)", "") or None
        try:
            created = profiles.add_access_key_profile(name, key_id, secret, region)
        except ValueError as exc:
            term.say(f"  {exc}")
            continue
        term.say(f"  Added profile {created.name}.")
        return Account(created.name, created.region)
    raise SetupStopped("The access key could not be added; check it in the IAM console and run setup again.")


def _sign_in(term: Terminal, profile: Any, open_browser: bool) -> None:
    from agent.aws import sso

    term.say(f"  Profile {profile.name} needs a sign-in to IAM Identity Center ({profile.sso_start_url}).")
    if not term.confirm("  Sign in now?", default=True):
        term.say("  Not signed in: the credentials check below will fail until you sign in.")
        return
    cancel = threading.Event()
    try:
        flow = sso.DeviceSignIn(profile.name, open_url=sso.open_in_browser if open_browser else None)
        authorization = flow.start()
        opened = open_browser and sso.can_open_browser()
        term.say(f"  {'A browser opened at' if opened else 'Open this address in a browser:'} "
                 f"{authorization.verification_uri_complete}")
        term.say(f"  Check that it shows the code {authorization.user_code}, then allow access.")
        term.say("  Waiting for the sign-in (Ctrl+C stops)...")
        try:
            expires = flow.wait(cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
        term.say(f"  Signed in until {_local(expires)}.")
    except (SignInError, ValueError) as exc:
        term.say(f"  {exc}")
        term.say("  Not signed in: the credentials check below will fail until you sign in.")


def _session(account: Account) -> Any:
    from agent.aws import profiles

    return profiles.session(account.profile, account.region)


# ---------------------------------------------------------------- 2. the queue


def _choose_queue(term: Terminal, account: Account, current: dict[str, Any], endpoint_url: str | None, region: str | None) -> str:
    from agent.aws import resources

    term.say("2. Queue: the SQS queue that receives the bucket's notifications")
    queues: list[str] = []
    if region:
        try:
            queues = resources.list_queues(_session(account), region, endpoint_url)
        except AgentError as exc:
            term.say(f"  The queues of {region} cannot be listed: {exc}")
        else:
            if queues:
                term.say(f"  Queues in {region}:")
                for number, url in enumerate(queues[:SHOWN_QUEUES], 1):
                    term.say(f"  {number}) {resources.queue_name(url)}")
                if len(queues) > SHOWN_QUEUES:
                    term.say(f"  ... and {len(queues) - SHOWN_QUEUES} more: paste the URL of one of those.")
            else:
                term.say(f"  There are no queues in {region} for these credentials; paste the URL of one shared with you.")
    question = "  Queue URL or ARN" + (", or a number from the list" if queues else "")
    for _ in range(ATTEMPTS):
        answer = term.ask(question, current.get("sqs_queue_url"))
        if answer.isdigit() and queues:
            if 1 <= int(answer) <= min(len(queues), SHOWN_QUEUES):
                return queues[int(answer) - 1]
            term.say(f"  Type a number from 1 to {min(len(queues), SHOWN_QUEUES)}, or paste a URL.")
            continue
        try:
            return resources.queue_url_from(answer, endpoint_url)
        except ValueError as exc:
            term.say(f"  {exc}")
    raise SetupStopped("No usable queue URL was given.")


# ---------------------------------------------------------------- 3. the bucket and 4. the folder


def _choose_bucket(term: Terminal, learnt: str | None, current: str | None) -> str | None:
    term.say("3. Bucket (optional): notifications for any other bucket are refused")
    if learnt:
        term.say(f"  The queue's policy names the bucket {learnt}.")
    default = current or learnt
    for _ in range(ATTEMPTS):
        answer = term.ask("  Bucket name (- for none)", default or "-")
        if answer in ("-", ""):
            return None
        name = answer.removeprefix("s3://").rstrip("/")
        if _BUCKET.match(name):
            return name
        term.say("  A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, such as audio-uploads "
                 "(no folder after it).")
    raise SetupStopped("No usable bucket name was given.")


def _choose_folder(term: Terminal, current: str | None, config_path: Path) -> str:
    from agent.config import make_download_folder

    term.say("4. Download folder")
    for _ in range(ATTEMPTS):
        answer = term.ask("  Folder", current or DEFAULT_FOLDER)
        try:
            folder, created = make_download_folder(answer, config_path)
        except (ValueError, OSError) as exc:
            term.say(f"  That folder cannot be used ({getattr(exc, 'strerror', None) or exc}); choose another.")
            continue
        term.say(f"  {'Created' if created else 'Using'} {folder}.")
        return answer
    raise SetupStopped("No usable download folder was given.")
