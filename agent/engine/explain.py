"""A failure said for the config it happened with: which endpoint cannot be reached and where it is set, a queue
looked for in another region than its URL's. The running agent and the doctor use the same words."""

from __future__ import annotations

from urllib.parse import urlsplit

from agent import errors
from agent.config import Config, region_from_queue_url
from agent.engine.aws import is_aws
from agent.engine.retry import Failure, Kind

ENDPOINT_KEYS = ("sqs_endpoint_url", "s3_endpoint_url", "endpoint_url")
"""The config keys that name a server, the most specific first."""


def in_context(failure: Failure, config: Config) -> Failure:
    """`failure` with its error said for `config` (see unreachable and region_mismatch); other failures as they are."""
    error = failure.error
    if isinstance(error, errors.OfflineError) and error.endpoint:
        what, fix = unreachable(error.endpoint, config)
        return _wait(errors.OfflineError(f"{what} {fix} Retrying by itself.", error.endpoint))
    if isinstance(error, errors.QueueNotFoundError):
        mismatch = region_mismatch(config)
        if mismatch is not None:
            return _wait(errors.QueueNotFoundError(f"The queue does not exist in {config.aws_region}. {mismatch[0]} {mismatch[1]}"))
    return failure


def unreachable(endpoint: str, config: Config) -> tuple[str, str]:
    """(what, fix) for an endpoint that cannot be reached: AWS's own (the connection), one the config sets (which
    setting, and whether the queue URL names another server), or one set outside the config (the environment)."""
    address = urlsplit(endpoint)
    shown = f"{address.scheme}://{address.netloc}" if address.netloc else endpoint
    key = next((key for key in ENDPOINT_KEYS if (value := getattr(config, key)) and urlsplit(value).netloc == address.netloc), None)
    if key is None and is_aws(endpoint):
        return (f"Cannot reach the endpoint {shown}.",
                "Check the internet connection (and any proxy or firewall on the way).")
    if key is None:
        return ((f"Cannot reach the endpoint {shown}, which the config does not set (AWS_ENDPOINT_URL in the "
                 "environment, or the AWS config file, does)."),
                "Set {endpoint_url} to the server to use, or correct where it is set now.")
    what = f"Cannot reach the endpoint {shown}, set in {{{key}}}."
    queue_server = urlsplit(config.sqs_queue_url).netloc
    if key != "s3_endpoint_url" and queue_server and queue_server != address.netloc:
        return (f"{what} The queue URL names another server, {queue_server}.",
                f"Correct {{{key}}} (or the queue URL, if that one is wrong), and check that the server runs.")
    return what, f"Check the address and port in {{{key}}}, and that the server runs."


def region_mismatch(config: Config) -> tuple[str, str] | None:
    """(what, fix) when the queue URL names another region than the one set: the queue is looked for in the wrong one."""
    url_region = region_from_queue_url(config.sqs_queue_url)
    if not url_region or not config.aws_region or url_region == config.aws_region:
        return None
    return (f"The queue URL is in {url_region}, but {{aws_region}} says {config.aws_region}.",
            f"{{Remove|Clear}} {{aws_region}}{{ from the config|}} (the region comes from the queue URL), or set it to {url_region}.")


def _wait(error: errors.NeedsUserError) -> Failure:
    return Failure(Kind.WAIT, str(error), error)
