"""`s3-sqs-agent setup`: agent.setup_flow's questions in a terminal (answers may be piped), then the doctor's checks."""

from __future__ import annotations

import getpass
import sys
import threading
from pathlib import Path
from typing import TextIO

from agent.api import APP_NAME, APP_TITLE
from agent.errors import AgentError, ConfigError, SignInError
from agent.setup_flow import ADD_KEY, DEFAULT_KEY_PROFILE, Account, SetupFlow, describe_profile, find_accounts, read_current, signed_in_until

SHOWN_QUEUES = 30
ATTEMPTS = 5  # a question asked again after a bad answer; then setup stops (a pipe would loop forever)


class SetupStopped(AgentError):
    """Setup cannot go on: stdin ended before a question without a default, or the same question failed repeatedly."""

    title = "Setup stopped"


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
    from agent.aws import doctor

    current, problem = read_current(config_path)
    if problem:
        term.say(problem)
    flow = SetupFlow(config_path, current, environ={}, endpoint_url=endpoint_url)
    term.say(f"{APP_TITLE} setup. Your answers go to {config_path} (comments in it are kept).")
    term.say("Press Enter to take the answer in [brackets]; Ctrl+C stops without saving.")
    term.say()
    for ask in (_choose_account, _choose_queue, _choose_bucket, _choose_folder):
        ask(term, flow, open_browser)
        term.say()
    try:
        new_config = flow.check_config()
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
    flow.save()
    term.say(f"Saved {config_path}.")
    if failed:
        term.say(f"Once the failures above are fixed, {APP_NAME} doctor checks again.")
    term.say(f"Start downloading: {APP_NAME} (the tray app), or {APP_NAME} run --headless. A running agent picks the "
             "change up by itself.")
    return 1 if failed else 0


# ---------------------------------------------------------------- 1. the AWS account


def _choose_account(term: Terminal, flow: SetupFlow, open_browser: bool) -> None:
    term.say("1. AWS account")
    choices, problem = find_accounts()
    if problem:
        term.say(f"  {problem}")
    width = max(len(choice.title) for choice in choices)
    for number, choice in enumerate(choices, 1):
        term.say(f"  {number}) {choice.title.ljust(width)}  {choice.detail(', ')}")
    chosen = choices[_pick(term, "Choose", len(choices), choices.index(flow.default_account(choices)) + 1) - 1]
    if chosen.value == ADD_KEY:
        chosen = _add_access_key(term)
    elif chosen.needs_sign_in:
        _sign_in(term, chosen, open_browser)
    flow.choose_account(chosen)


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
        return Account(created.name, created.name, describe_profile(created), created)
    raise SetupStopped("The access key could not be added; check it in the IAM console and run setup again.")


def _sign_in(term: Terminal, account: Account, open_browser: bool) -> None:
    from agent.aws import sso

    profile = account.profile
    assert profile is not None
    term.say(f"  Profile {profile.name} needs a sign-in to IAM Identity Center ({profile.sso_start_url}).")
    if not term.confirm("  Sign in now?", default=True):
        term.say("  Not signed in: the credentials check below will fail until you sign in.")
        return
    cancel = threading.Event()
    try:
        signer = sso.DeviceSignIn(profile.name, open_url=sso.open_in_browser if open_browser else None)
        authorization = signer.start()
        opened = open_browser and sso.can_open_browser()
        term.say(f"  {'A browser opened at' if opened else 'Open this address in a browser:'} "
                 f"{authorization.verification_uri_complete}")
        term.say(f"  Check that it shows the code {authorization.user_code}, then allow access.")
        term.say("  Waiting for the sign-in (Ctrl+C stops)...")
        try:
            expires = signer.wait(cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
        term.say(f"  Signed in until {signed_in_until(expires)}.")
    except (SignInError, ValueError) as exc:
        term.say(f"  {exc}")
        term.say("  Not signed in: the credentials check below will fail until you sign in.")


# ---------------------------------------------------------------- 2. the queue


def _choose_queue(term: Terminal, flow: SetupFlow, open_browser: bool) -> None:
    from agent.aws import resources

    term.say("2. Queue: the SQS queue that receives the bucket's notifications")
    region = flow.call_region
    queues: list[str] = []
    if region:
        try:
            queues = flow.list_queues()()
        except AgentError as exc:
            term.say(f"  The queues of {region} cannot be listed: {exc}")
        else:
            flow.queues_found(queues)
            if queues:
                term.say(f"  Queues in {region}:")
                for number, url in enumerate(queues[:SHOWN_QUEUES], 1):
                    term.say(f"  {number}) {resources.queue_name(url)}")
                if len(queues) > SHOWN_QUEUES:
                    term.say(f"  ... and {len(queues) - SHOWN_QUEUES} more: paste the URL of one of those.")
            else:
                term.say(f"  There are no queues in {region} for these credentials; paste the URL of one shared with you.")
    question = "  Queue URL or ARN" + (", or a number from the list" if queues else "")
    shown = min(len(queues), SHOWN_QUEUES)
    for _ in range(ATTEMPTS):
        answer = term.ask(question, flow.queue_url)
        if answer.isdigit() and queues and not 1 <= int(answer) <= shown:
            term.say(f"  Type a number from 1 to {shown}, or paste a URL.")
            continue
        try:
            flow.set_queue(queues[int(answer) - 1] if answer.isdigit() and queues else answer)
            return
        except ValueError as exc:
            term.say(f"  {exc}")
    raise SetupStopped("No usable queue URL was given.")


# ---------------------------------------------------------------- 3. the bucket and 4. the folder


def _choose_bucket(term: Terminal, flow: SetupFlow, open_browser: bool) -> None:
    term.say("3. Bucket (optional): notifications for any other bucket are refused")
    lookup = flow.bucket_lookup()
    if lookup is not None:
        flow.bucket_read(lookup, lookup.run())
        if flow.bucket_from_policy:
            term.say(f"  The queue's policy names the bucket {flow.bucket}.")
    for _ in range(ATTEMPTS):
        try:
            flow.set_bucket(term.ask("  Bucket name (- for none)", flow.bucket or "-"))
            return
        except ValueError as exc:
            term.say(f"  {exc}")
    raise SetupStopped("No usable bucket name was given.")


def _choose_folder(term: Terminal, flow: SetupFlow, open_browser: bool) -> None:
    term.say("4. Download folder")
    for _ in range(ATTEMPTS):
        try:
            flow.set_folder(term.ask("  Folder", flow.folder))
            folder, created = flow.make_folder()
        except (ValueError, OSError) as exc:
            term.say(f"  That folder cannot be used ({getattr(exc, 'strerror', None) or exc}); choose another.")
            continue
        term.say(f"  {'Created' if created else 'Using'} {folder}.")
        return
    raise SetupStopped("No usable download folder was given.")
