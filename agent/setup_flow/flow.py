"""The answers of one setup, their defaults and the rules between them; the config changes they make."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agent import config as config_module
from agent.setup_flow.accounts import ADD_KEY, AMBIENT, Account, free_profile_name
from agent.setup_flow.environment import INHERITED, EnvironmentKey, Inherited, forget_inherited, inherited_from

if TYPE_CHECKING:
    import boto3

    from agent.aws.doctor import Check
    from agent.aws.resources import QueueLookup
    from agent.config import Config

DEFAULT_FOLDER = "~/S3 Downloads"
QUESTIONS = ("account", "queue", "bucket", "folder")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def read_current(path: Path) -> tuple[dict[str, Any], str]:
    """The keys the config file sets now (a setup run again starts from them), and why it cannot be read ("" if it can)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, f"The current config cannot be read ({exc}); setup starts from scratch and keeps what it can."
    return ({k: v for k, v in data.items() if v not in (None, "")} if isinstance(data, dict) else {}), ""


def queue_endpoint(queue_url: str) -> str | None:
    """The server a queue URL names when it is not AWS (http://127.0.0.1:5055 for http://127.0.0.1:5055/123/uploads)."""
    from agent.engine.aws import is_aws

    parts = urlsplit(queue_url)
    if not parts.scheme or not parts.netloc or is_aws(queue_url):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def clean_bucket(text: str | None) -> str | None:
    """A bucket answer: its name alone (s3://name/ accepted), None for none; ValueError saying what a name looks like."""
    name = (text or "").strip().removeprefix("s3://").rstrip("/")
    if name in ("", "-"):
        return None
    if not _BUCKET.match(name):
        raise ValueError("A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, such as audio-uploads "
                         "(no folder after it).")
    return name


@dataclass(frozen=True)
class BucketLookup:
    """Read the bucket the queue's policy names, for these answers (made on the UI thread, run on a worker)."""

    queue_url: str
    endpoint_url: str | None
    region: str | None
    profile: str | None

    def run(self) -> str | None:
        """The bucket's name, or None when the policy names none or cannot be read (it is only a default)."""
        from botocore.exceptions import BotoCoreError

        from agent.aws import profiles, resources
        from agent.errors import AgentError

        try:
            return resources.bucket_from_queue_policy(profiles.session(self.profile, self.region), self.queue_url,
                                                      self.endpoint_url, self.region)
        except (AgentError, BotoCoreError):
            return None


class SetupFlow:
    """The answers of one setup: their defaults (the config file's keys, then the environment's), the rules between
    them, and the config changes they make. Front ends set answers with the set_* methods (ValueError: ask again)."""

    def __init__(self, path: Path, current: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
                 endpoint_url: str | None = None) -> None:
        self.path = path
        self.current: dict[str, Any] = dict(current or {})
        self.inherited = inherited_from(os.environ if environ is None else environ)
        given = {key: self.current.get(key) or (self.inherited[key].value if key in self.inherited else None)
                 for key, _, _ in INHERITED}
        self.account = ""
        """The chosen Account's value: a profile name, AMBIENT or ADD_KEY ("" until one is chosen)."""
        self.key: EnvironmentKey | None = None
        """AMBIENT only: the access key that exists only in this process's environment."""
        self.key_profile: str | None = None
        """The profile `key` is saved as, with the config, so that the agent started at login has it (None: not saved)."""
        self.profile_region: str | None = None
        self.queue_url: str | None = self.current.get("sqs_queue_url")
        self.bucket: str | None = self.current.get("s3_bucket_name")
        self.bucket_from_policy = False  # the bucket answer was read from the queue's policy, not typed or kept
        self.folder: str = str(self.current.get("download_folder") or DEFAULT_FOLDER)
        self.endpoint_url: str | None = endpoint_url or given["endpoint_url"]
        self.endpoint_from_queue = False  # the endpoint answer is the queue URL's own server, not typed or kept
        self.sqs_endpoint_url: str | None = given["sqs_endpoint_url"]
        self.s3_endpoint_url: str | None = given["s3_endpoint_url"]
        self.region: str | None = given["aws_region"]
        self.wanted_profile: str | None = given["aws_profile"]
        self.extra: dict[str, Any] = {}
        """Keys besides the answers: what connect would have written for a queue that setup created."""
        self.listed: list[str] = []
        """The queue URLs found in the account (a listed queue's name is an answer too)."""
        self._bucket_read_for: tuple[str, str | None] | None = None
        self._session_regions: dict[str | None, str | None] = {}

    @classmethod
    def start(cls, path: Path, endpoint_url: str | None = None) -> tuple[SetupFlow, str]:
        """A flow for this process: the file's keys and the environment's settings become the defaults, then the
        environment forgets those settings (see forget_inherited). Also returns why the file cannot be read, or ""."""
        current, problem = read_current(path)
        flow = cls(path, current, os.environ, endpoint_url)
        forget_inherited(os.environ)
        return flow, problem

    # ------------------------------------------------------------ 1. the account

    def default_account(self, choices: list[Account]) -> Account:
        """The profile the config (or AWS_PROFILE) names, else the first profile that needs no sign-in, else the
        credentials this computer has without a profile, else the first choice (adding an access key)."""
        wanted = self.account or self.wanted_profile
        return (next((c for c in choices if c.value == wanted), None)
                or next((c for c in choices if c.profile is not None and not c.needs_sign_in), None)
                or next((c for c in choices if c.value == AMBIENT), None) or choices[0])

    def choose_account(self, account: Account) -> None:
        self.account, self.profile_region, self.key, self.key_profile = account.value, account.region, account.key, None

    @property
    def profile(self) -> str | None:
        return self.account if self.account not in ("", AMBIENT, ADD_KEY) else None

    def keep_key_as(self, name: str | None) -> None:
        """Save the environment's access key as profile `name` with the config (None: do not). ValueError: the name
        is not a profile name, or a profile has it already."""
        from agent.aws import profiles

        if name is not None:
            name = profiles.check_new_profile_name(name)
        self.key_profile = name if self.key is not None and not self.key.temporary else None

    def default_key_profile(self) -> str:
        from agent.aws import profiles

        try:
            return free_profile_name(p.name for p in profiles.list_profiles())
        except Exception:  # noqa: BLE001  an unreadable AWS file: the name is only a default, and saving says why
            return free_profile_name([])

    # ------------------------------------------------------------ 2. the queue (and the endpoint it names)

    @property
    def sqs_endpoint(self) -> str | None:
        return self.sqs_endpoint_url or self.endpoint_url

    @property
    def url_region(self) -> str | None:
        return config_module.region_from_queue_url(self.queue_url or "")

    @property
    def call_region(self) -> str | None:
        """The region AWS calls are signed for: the queue URL's, else the answer's, else the profile's (a local server: any)."""
        from agent.engine.aws import LOCAL_REGION

        return self.known_region or (LOCAL_REGION if self.sqs_endpoint else None)

    @property
    def known_region(self) -> str | None:
        """The queue URL's region, else the region answer, else the profile's (None: no region is known)."""
        return self.url_region or self.region or self.profile_region or self._session_region()

    def _session_region(self) -> str | None:
        """The region botocore gives the chosen profile (for no profile: the [default] one's), read once per profile."""
        from agent.aws import profiles

        if self.profile not in self._session_regions:
            try:
                self._session_regions[self.profile] = profiles.session(self.profile).region_name
            except Exception:  # noqa: BLE001  a profile that is gone: its region is unknown, and the checks say why
                self._session_regions[self.profile] = None
        return self._session_regions[self.profile]

    def parse_queue(self, text: str) -> str:
        """The queue URL that `text` names: a URL, an ARN, or the name of a listed queue. ValueError says why not."""
        from agent.aws import resources

        text = text.strip()
        by_name = [url for url in self.listed if resources.queue_name(url) == text] or [
            url for url in self.listed if resources.queue_name(url).lower() == text.lower()]
        if text and len(by_name) == 1:
            return by_name[0]
        return resources.queue_url_from(text, self.sqs_endpoint)

    def set_queue(self, text: str) -> str:
        """Take the queue answer. A new URL whose host is not AWS names the endpoint, unless one was given (the same URL
        again changes nothing: an endpoint emptied meanwhile stays empty)."""
        url = self.parse_queue(text)
        changed, self.queue_url = url != self.queue_url, url
        server = queue_endpoint(url)
        if not changed:
            return url
        if server and (self.endpoint_from_queue or not self.sqs_endpoint):
            self.endpoint_url, self.endpoint_from_queue = server, True
        elif not server and self.endpoint_from_queue:
            self.endpoint_url, self.endpoint_from_queue = None, False  # back on AWS: that server no longer applies
        return url

    def set_endpoint(self, text: str | None) -> None:
        """The endpoint typed (empty: AWS). The value already held keeps where it came from."""
        value = (text or "").strip().rstrip("/") or None
        if value != self.endpoint_url:
            self.endpoint_url, self.endpoint_from_queue = value, False

    def set_s3_endpoint(self, text: str | None) -> None:
        """Where S3 is, when it is not where the endpoint answer says (empty or the same: there)."""
        value = (text or "").strip().rstrip("/") or None
        self.s3_endpoint_url = value if value != self.endpoint_url else None

    def queues_found(self, urls: list[str]) -> None:
        self.listed = list(urls)

    def session_maker(self) -> Callable[[], boto3.session.Session]:
        """The answers read now (on a window's Tk thread); the call returned makes the boto3 session (on a worker)."""
        from agent.aws import profiles

        profile, region = self.profile, self.call_region
        return lambda: profiles.session(profile, region)

    def list_queues(self) -> Callable[[], list[str]]:
        """The queues of the account and region, read off the UI thread (the call returned)."""
        from agent.aws import resources

        session, region, endpoint = self.session_maker(), self.call_region, self.sqs_endpoint
        return lambda: resources.list_queues(session(), region, endpoint)

    def queue_lookup(self) -> Callable[[], QueueLookup] | None:
        """Whether the queue answered exists and, when it does not, the nearest queue name (off the UI thread)."""
        from agent.aws import resources

        if not self.queue_url:
            return None
        session, url, region, endpoint = self.session_maker(), self.queue_url, self.call_region, self.sqs_endpoint
        return lambda: resources.find_queue(session(), url, endpoint, region)

    # ------------------------------------------------------------ 3. the bucket

    def set_bucket(self, text: str | None) -> str | None:
        """The bucket typed (empty or -: none). The value already held keeps where it came from."""
        bucket = clean_bucket(text)
        if bucket != self.bucket:
            self.bucket, self.bucket_from_policy = bucket, False
        return bucket

    def bucket_lookup(self) -> BucketLookup | None:
        """The reading of the queue's policy these answers want: the queue or its endpoint changed since the last one,
        and the bucket is empty or was itself read from a policy. None when there is nothing to read."""
        if not self.queue_url or (self.bucket and not self.bucket_from_policy):
            return None
        if self._bucket_read_for == (self.queue_url, self.sqs_endpoint):
            return None
        self._bucket_read_for = (self.queue_url, self.sqs_endpoint)
        return BucketLookup(self.queue_url, self.sqs_endpoint, self.call_region, self.profile)

    def bucket_read(self, lookup: BucketLookup, bucket: str | None) -> bool:
        """What the policy named for `lookup`; True when it changed the bucket answer (a result for older answers is dropped)."""
        if (lookup.queue_url, lookup.endpoint_url) != (self.queue_url, self.sqs_endpoint):
            return False
        if self.bucket and not self.bucket_from_policy:
            return False  # typed meanwhile: the person's answer wins
        if bucket == self.bucket:
            return False
        self.bucket, self.bucket_from_policy = bucket, bucket is not None
        return True

    # ------------------------------------------------------------ 4. the folder

    def set_folder(self, text: str | None) -> str:
        """Take the folder answer; ValueError when it is empty."""
        text = (text or "").strip()
        if not text:
            raise ValueError("Choose the folder new files go to.")
        self.folder = text
        return text

    def make_folder(self) -> tuple[Path, bool]:
        """Create the folder answered if it is missing: (its path, whether it was created). ValueError or OSError says why not."""
        return config_module.make_download_folder(self.folder, self.path)

    # ------------------------------------------------------------ the config they make

    def to_changes(self) -> dict[str, Any]:
        """The answers as update_file() takes them."""
        remove = config_module.REMOVE
        changes: dict[str, Any] = {
            "aws_profile": self.profile or self.key_profile or remove,
            "sqs_queue_url": self.queue_url or "",
            "s3_bucket_name": self.bucket or remove,
            "download_folder": self.folder or DEFAULT_FOLDER,
            "endpoint_url": self.endpoint_url or remove,
        }
        for key in ("sqs_endpoint_url", "s3_endpoint_url"):
            if getattr(self, key):
                changes[key] = getattr(self, key)
        changes.update(self.extra)
        if self.url_region:
            changes["aws_region"] = remove  # the queue URL names it
        elif self.known_region:
            changes["aws_region"] = self.known_region  # a local server's URL names none: keep the one used
        return changes

    def check_config(self) -> Config:
        """The config the answers make, for the checks (ConfigError: the answers do not make a valid config). A key
        to be saved as a profile is checked where it is now, in the environment: the profile will hold the same."""
        changes = self.to_changes()
        if self.key_profile:
            changes["aws_profile"] = config_module.REMOVE
        return config_module.preview_update(self.path, changes)[1]

    def save(self) -> Config:
        """Create the folder (a config never names one that cannot be made), save the environment's key as a profile
        when asked, then write the answers into the file. ValueError or OSError: the folder or the profile cannot be."""
        from agent.aws import profiles

        self.check_config()  # nothing is written for answers that do not make a config
        self.make_folder()
        if self.key_profile and self.key is not None:
            profiles.add_access_key_profile(self.key_profile, self.key.access_key_id, self.key.secret_access_key, self.known_region,
                                            check_key_id=False)  # it works as it is (a local server's may be "test")
            self.account, self.key_profile = self.key_profile, None
        return config_module.update_file(self.path, self.to_changes())

    def from_environment(self) -> list[Inherited]:
        """The environment's settings that the answers keep (the config then holds them, for the agent at login)."""
        changes = self.to_changes()
        kept = [self.inherited[key] for key in ("endpoint_url", "sqs_endpoint_url", "s3_endpoint_url", "aws_region")
                if key in self.inherited and changes.get(key) == self.inherited[key].value]
        if "aws_profile" in self.inherited and self.profile == self.inherited["aws_profile"].value:
            kept.append(self.inherited["aws_profile"])
        return kept


def failed_step(checks: Iterable[Check]) -> str | None:
    """The question (of QUESTIONS) to go back to for the first failed check; None when none failed or none applies."""
    from agent.aws import doctor

    step_of_check = {doctor.CREDENTIALS_CHECK: "account", doctor.QUEUE: "queue", doctor.RECEIVE: "queue", doctor.DELETE: "queue",
                     doctor.DEAD_LETTER: "queue", doctor.BUCKET: "bucket", doctor.FOLDER: "folder"}  # the clock has none
    return next((step_of_check[c.name] for c in checks if c.passed is False and c.name in step_of_check), None)
