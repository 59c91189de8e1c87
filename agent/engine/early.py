"""The first receive of a start, sent through the CRT before botocore is even loaded, when nothing is left to resolve.

Loading boto3 and building its clients is most of a cold start (0.2 s and more), and the queue need not wait for it:
when the config names the SQS server (or the region's AWS endpoint is certain) and the credentials are static keys in
the environment with no profile named, the endpoint, the region and the keys are exactly what botocore would take, so
the first receive goes out at once, on a thread of its own, while the rest of the engine loads. The consumer takes its
messages as its first batch. In any other setup (a profile, SSO, a proxy, an endpoint from the AWS config file...)
this returns None and the engine receives as before, through what botocore resolved.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.config import Config
from agent.engine import crt
from agent.engine.sqs import BATCH, LONG_POLL_SECONDS, SQS_DEFAULTS, Message, Queue

# Where botocore would look for other settings of the endpoint, the region, the credentials or the certificates: when
# any of these is set, this path steps aside (botocore/configprovider.py, credentials.py).
_SETTLED_ELSEWHERE = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
                      "AWS_CREDENTIAL_EXPIRATION", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
_AWS_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")  # the standard partition: sqs.<region>.amazonaws.com


@dataclass(frozen=True)
class Route:
    """What the early receive uses: the server, the region, the keys and the certificates, as botocore would take them."""

    endpoint_url: str
    region: str
    access_key: str
    secret_key: str
    token: str | None
    ca_bundle: str | None = None  # AWS_CA_BUNDLE, which botocore trusts instead of its own bundle


def route(config: Config, environ: Mapping[str, str] = os.environ) -> Route | None:
    """The server, region and keys for the first receive, when they are certain without botocore; else None."""
    if crt.unavailable(None, environ) is not None or config.aws_profile:
        return None
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret or any(environ.get(name) for name in _SETTLED_ELSEWHERE):
        return None  # with no profile named, botocore takes keys from the environment first, when both are there
    region = config.aws_region or environ.get("AWS_DEFAULT_REGION")
    if not region:
        return None  # it would come from the AWS config file
    endpoint = config.sqs_endpoint
    if endpoint is None and _AWS_REGION.match(region) and not _aws_config_file(environ).exists():
        endpoint = f"https://sqs.{region}.amazonaws.com"
    if endpoint is None or (endpoint.startswith("https:") and _aws_config_file(environ).exists()):
        return None  # botocore's endpoint rules, or the config file's settings (a ca_bundle, say), decide
    return Route(endpoint, region, key, secret, environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None,
                 environ.get("AWS_CA_BUNDLE") or None)


def _aws_config_file(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()


class FirstReceive:
    """One receive running on its own thread. `messages()` waits for it: its messages, or the error it raised."""

    def __init__(self, queue: Queue, wait_seconds: int) -> None:
        self.queue = queue
        self._wait = wait_seconds
        self._messages: list[Message] = []
        self._error: BaseException | None = None
        self._taken = False  # by the consumer, or handed back
        self._done = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="first-receive", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            # The visibility timeout is SQS's default, given explicitly, as when the queue's settings are not known yet
            self._messages = self.queue.receive(BATCH, self._wait, SQS_DEFAULTS.visibility_timeout)
        except Exception as exc:  # noqa: BLE001 - raised in the consumer, which classifies it like any receive's
            self._error = exc
        with self._lock:
            self._done = True
            handed_back = self._taken
        if handed_back:  # the engine stopped while this waited for the server
            self._release()

    def messages(self) -> list[Message]:
        """Its messages, once (the consumer's first batch); raises what the receive raised."""
        self._thread.join()
        with self._lock:
            self._taken = True
        if self._error is not None:
            raise self._error
        return self._messages

    def release_untaken(self) -> None:
        """The engine never took them: hand the messages back to the queue at once (they are not lost either way). Never
        waits: a receive still waiting for the server hands them back itself when it ends."""
        with self._lock:
            if self._taken:
                return
            self._taken = True
            done = self._done
        if done:
            self._release()

    def _release(self) -> None:
        for message in self._messages:
            try:
                self.queue.change_visibility(message, 0)
            except Exception:  # noqa: BLE001 - best effort: its visibility timeout brings it back
                continue


def first_receive(config: Config, drain: bool, environ: Mapping[str, str] = os.environ) -> FirstReceive | None:
    """Send the first receive now, when `route()` is certain; None otherwise (or when the CRT cannot start)."""
    found = route(config, environ)
    if found is None:
        return None
    from agent.engine.sqs_crt import CrtSqsClient

    try:
        client = CrtSqsClient(found.endpoint_url, found.region,
                              crt.Credentials.static(found.access_key, found.secret_key, found.token), ca_bundle=found.ca_bundle)
    except Exception:  # noqa: BLE001 - the engine receives as before
        return None
    return FirstReceive(Queue(client, config.sqs_queue_url), 0 if drain else LONG_POLL_SECONDS)
