"""`s3-sqs-agent setup`: agent.setup_flow's questions in a terminal (answers may be piped), then the doctor's checks."""

from __future__ import annotations

import getpass
import sys
import threading
from pathlib import Path
from typing import TextIO

from agent.api import APP_NAME, APP_TITLE
from agent.errors import AgentError, ConfigError, SignInError
from agent.setup_flow import (
    ADD_KEY,
    DEFAULT_KEY_PROFILE,
    QUESTIONS,
    Account,
    EnvironmentKey,
    SetupFlow,
    describe_profile,
    failed_step,
    find_accounts,
    signed_in_until,
)

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
        self.ended = False  # stdin ended: every question takes its default from here on

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
            self.ended = self.ended or not line
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


TITLES = {"account": "AWS account", "queue": "queue", "bucket": "bucket", "folder": "download folder"}  # "Go back to the … question?"


def _converse(term: Terminal, config_path: Path, endpoint_url: str | None, open_browser: bool) -> int:
    from agent.aws import doctor

    flow, problem = SetupFlow.start(config_path, endpoint_url)
    if problem:
        term.say(problem)
    term.say(f"{APP_TITLE} setup. Your answers go to {config_path} (comments in it are kept).")
    term.say("Press Enter to take the answer in [brackets]; Ctrl+C stops without saving.")
    term.say()
    questions = {"account": lambda: _choose_account(term, flow, open_browser), "queue": lambda: _choose_queue(term, flow),
                 "bucket": lambda: _choose_bucket(term, flow), "folder": lambda: _choose_folder(term, flow)}
    again, width = QUESTIONS[0], doctor.terminal_width(term.stdout)
    while True:
        for question in QUESTIONS[QUESTIONS.index(again):]:
            questions[question]()
            term.say()
        try:
            new_config = flow.check_config()
        except ConfigError as exc:
            term.say(f"These answers do not make a valid config:\n{exc}")
            return 2
        term.say("Checking (the same checks as s3-sqs-agent doctor):")
        checks = doctor.run_checks(new_config, on_result=lambda check: term.say(doctor.format_check(check, width)))
        term.say(doctor.summary(checks))
        failed = any(check.passed is False for check in checks)
        if not failed or term.confirm("Some checks failed. Save the config anyway, to fix those later?", default=False):
            break
        step = failed_step(checks)
        if step is None or term.ended or not term.confirm(f"Go back to the {TITLES[step]} question?", default=True):
            term.say(f"Nothing was saved. Run {_command(config_path, 'setup')} again once the failures above are fixed.")
            return 1
        again = step
        term.say()
    kept = flow.from_environment()
    key_profile = flow.key_profile
    try:
        flow.save()
    except (ValueError, OSError) as exc:
        term.say(f"Not saved: {getattr(exc, 'strerror', None) or exc}.")
        return 2
    term.say(f"Saved {config_path}.")
    if key_profile:
        from agent.aws import profiles

        term.say(f"  The access key of this terminal's environment is profile {key_profile} in {profiles.credentials_file()} now.")
    for setting in kept:
        term.say(f"  From this terminal's environment, now in the config too: {setting}. The agent started from the "
                 "applications menu or at login does not see this terminal's variables.")
    if failed:
        term.say(f"Once the failures above are fixed, {_command(config_path, 'doctor')} checks again.")
    term.say(f"Start downloading: {_command(config_path, 'tray')} (the tray app), or {_command(config_path, 'run --headless')}. "
             "A running agent picks the change up by itself.")
    return 1 if failed else 0


def _command(config_path: Path, command: str) -> str:
    """A command line for this config: --config FILE is named unless it is the default file."""
    import shlex

    from agent import dirs

    given = config_path.expanduser().resolve() != dirs.default_config_file().expanduser().resolve()
    return f"{APP_NAME} {command}" + (f" --config {shlex.quote(str(config_path))}" if given else "")


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
    if chosen.key is not None:
        _offer_to_keep_key(term, flow, chosen.key)


def _offer_to_keep_key(term: Terminal, flow: SetupFlow, key: EnvironmentKey) -> None:
    """An access key only in this terminal's environment: the agent at login would have none. Offer a profile."""
    from agent.aws import profiles

    term.say(f"  {key.note()}")
    if key.temporary or not term.confirm(f"  Save it as a profile in {profiles.credentials_file()} (readable by you only), "
                                         "for the agent?", default=True):
        return
    for _ in range(ATTEMPTS):
        try:
            flow.keep_key_as(term.ask("  Profile name", flow.default_key_profile()))
        except ValueError as exc:
            term.say(f"  {exc}")
            continue
        term.say(f"  Profile {flow.key_profile} is written with the config, at the end; the config names it.")
        return
    raise SetupStopped("No usable profile name was given.")


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


def _choose_queue(term: Terminal, flow: SetupFlow) -> None:
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
    question = "  Queue URL or ARN" + (", or a name or number from the list" if queues else "")
    shown, missing = min(len(queues), SHOWN_QUEUES), None
    for _ in range(ATTEMPTS):
        answer = term.ask(question, flow.queue_url)
        if answer.isdigit() and queues and not 1 <= int(answer) <= shown:
            term.say(f"  Type a number from 1 to {shown}, or paste a URL.")
            continue
        try:
            url = flow.set_queue(queues[int(answer) - 1] if answer.isdigit() and queues else answer)
        except ValueError as exc:
            term.say(f"  {exc}")
            continue
        if url == missing or _queue_is_there(term, flow):  # the same missing URL again: the checks will say why
            break
        missing = url
    else:
        raise SetupStopped("No usable queue URL was given.")
    if flow.endpoint_from_queue:
        term.say(f"  The queue is on {flow.endpoint_url}, not on AWS: that is the SQS endpoint. The checks show whether it "
                 "serves S3 too.")
        flow.set_s3_endpoint(term.ask("  S3 endpoint (Enter: the same server)", flow.s3_endpoint_url or flow.endpoint_url))


def _queue_is_there(term: Terminal, flow: SetupFlow) -> bool:
    """False when SQS says the queue does not exist (then the question is asked again, or its nearest name taken)."""
    from agent.aws import resources

    lookup = flow.queue_lookup()
    found = lookup() if lookup is not None else None
    if found is None or found.exists is not False:
        return True
    where = f" in {flow.call_region}" if flow.call_region else ""
    term.say(f"  There is no queue {resources.queue_name(flow.queue_url or '')}{where} for these credentials.")
    if found.nearest and term.confirm(f"  Did you mean {resources.queue_name(found.nearest)}?", default=True):
        flow.set_queue(found.nearest)
        return True
    term.say("  Type another, or press Enter to check this one as it is.")
    return False


# ---------------------------------------------------------------- 3. the bucket and 4. the folder


def _choose_bucket(term: Terminal, flow: SetupFlow) -> None:
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


def _choose_folder(term: Terminal, flow: SetupFlow) -> None:
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
