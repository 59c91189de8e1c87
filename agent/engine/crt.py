"""Object GETs through the AWS Common Runtime (awscrt): signing, HTTP and parallel ranges in native code.

awscrt is a dependency wherever it ships wheels. botocore spends about 1.3 ms of CPU per request under the GIL, which
caps a Python process at a few hundred small files a second. The CRT's S3 client does the same GET (with If-Match, so
every byte is of the announced version) on its own threads and hands the bytes to a callback that writes them into the
agent's own file descriptor, so the agent keeps its temporary file, fsync and atomic rename. Failures are translated
into the botocore exceptions the engine already classifies. `CrtGetter.create()` returns (getter, description), the
getter None when the CRT cannot serve this client (not installed, a proxy, a bandwidth limit, disabled with
S3_SQS_AGENT_NO_CRT=1, or no credentials; the description says why): the caller then uses boto3.

The CRT's queue calls (agent/engine/sqs_crt.py) share this module's credentials, event loops and error translation.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from agent.engine.fileio import write_at

log = logging.getLogger(__name__)

READ_TIMEOUT = 30.0  # seconds without a byte before a GET is abandoned (botocore's read_timeout in aws.py)
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_S3_ANSWERS = {  # CRT error name -> (S3 error code, HTTP status) as botocore would report them
    "AWS_ERROR_S3_SLOW_DOWN": ("SlowDown", 503),
    "AWS_ERROR_S3_INTERNAL_ERROR": ("InternalError", 500),
    "AWS_ERROR_S3_REQUEST_TIMEOUT": ("RequestTimeout", 400),
    "AWS_ERROR_S3_OBJECT_MODIFIED": ("PreconditionFailed", 412),
}
_UNREACHABLE = frozenset({  # the CRT's errors for a server that cannot be reached at all (the whole queue waits: offline)
    "AWS_IO_SOCKET_CONNECTION_REFUSED", "AWS_IO_SOCKET_TIMEOUT", "AWS_IO_SOCKET_NO_ROUTE_TO_HOST",
    "AWS_IO_SOCKET_NETWORK_DOWN", "AWS_IO_DNS_QUERY_FAILED", "AWS_IO_DNS_INVALID_NAME", "AWS_IO_DNS_NO_ADDRESS_FOR_HOST",
    "AWS_IO_DNS_QUERY_AGAIN", "AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE",
})
"""Any other connection error (a connection closed mid-transfer, say) is a retry of that one object, as with boto3."""


CRT_PATH = "the AWS Common Runtime"
"""How the log and the diagnostics name the CRT path: of the downloads (describe()), and of the queue calls."""


def unavailable(max_bandwidth: int | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """Why downloads cannot go through the AWS Common Runtime here, in words for the log; None when they can. The queue
    calls (sqs_crt.py, early.py) ask with `max_bandwidth` None: the limit is the downloads' only."""
    if environ.get("S3_SQS_AGENT_NO_CRT"):
        return "S3_SQS_AGENT_NO_CRT is set"
    if max_bandwidth:
        return "max_bandwidth is set, and only boto3 keeps to it"
    proxy = next((name for name in _PROXY_VARIABLES if environ.get(name)), None)
    if proxy:
        return f"a proxy is set ({proxy}), and the AWS Common Runtime does not read it"
    if importlib.util.find_spec("awscrt") is None:
        return "awscrt is not installed (it has no build for this platform)"
    return None


def describe(max_bandwidth: int | None, environ: Mapping[str, str] = os.environ) -> str:
    """Which path downloads take here, and why, for the log and the diagnostics."""
    why = unavailable(max_bandwidth, environ)
    return CRT_PATH if why is None else f"boto3 ({why})"


class CrtGetter:
    """GETs one object, or one range of it, into a file descriptor (fileio.write_at). Thread-safe; one per Downloader."""

    def __init__(self, s3_client: Any, part_size: int) -> None:
        from awscrt.s3 import S3Client, S3RequestTlsMode, S3RetryConfig, S3RetryMode

        endpoint = urlsplit(s3_client.meta.endpoint_url)
        self._secure = endpoint.scheme == "https"
        self._host = endpoint.netloc
        # Virtual-hosted names only on AWS itself (as botocore chooses there); path style for any other endpoint.
        self._path_style = (s3_client.meta.config.s3 or {}).get("addressing_style") == "path" \
            or not (endpoint.hostname or "").endswith(".amazonaws.com")
        self._endpoint_url = s3_client.meta.endpoint_url
        self._credentials = Credentials.of(s3_client)
        self._client = S3Client(
            bootstrap=bootstrap(), region=s3_client.meta.region_name, credential_provider=self._credentials.provider,
            tls_mode=S3RequestTlsMode.ENABLED if self._secure else S3RequestTlsMode.DISABLED,
            part_size=part_size, connect_timeout_ms=5000,
            # No retries of its own: every broken transfer reaches the engine's policy (attempts, backoff, offline, log).
            retry_config=S3RetryConfig(retry_mode=S3RetryMode.NONE))

    @classmethod
    def create(cls, s3_client: Any, part_size: int, max_bandwidth: int | None = None) -> tuple[CrtGetter | None, str]:
        """The getter, or None; and the path downloads take, in words (see describe())."""
        why = unavailable(max_bandwidth)
        if why is not None:
            return None, f"boto3 ({why})"
        try:
            if s3_client.meta.config.proxies:
                return None, "boto3 (the S3 client has a proxy, and the AWS Common Runtime does not read it)"
            return cls(s3_client, part_size), CRT_PATH
        except Exception as exc:  # noqa: BLE001 - any doubt: boto3 serves every request
            log.debug("Not using the AWS Common Runtime for downloads: %s", exc)
            return None, f"boto3 (the AWS Common Runtime could not start: {type(exc).__name__}: {exc})"

    def _request(self, bucket: str, key: str, headers: list[tuple[str, str]], version_id: str | None) -> Any:
        from awscrt.http import HttpHeaders, HttpRequest

        path = "/" + quote(key, safe="/~")
        host = self._host
        if self._path_style or "." in bucket:
            path = f"/{quote(bucket, safe='')}{path}"
        else:
            host = f"{bucket}.{host}"
        if version_id:
            path += f"?versionId={quote(version_id, safe='')}"
        return HttpRequest("GET", path, HttpHeaders([("Host", host), ("Content-Length", "0"), *headers]))

    def get(self, bucket: str, key: str, version_id: str | None, if_match: str | None, fd: int, offset: int,
            byte_range: tuple[int, int] | None, on_bytes: Callable[[int], None], stop: Callable[[], bool]) -> int:
        """Write the object (or `byte_range`) at `offset` in `fd`; returns the bytes written. Raises botocore errors."""
        from awscrt.s3 import S3RequestType

        headers = [("If-Match", if_match)] if if_match else []
        if byte_range is not None:
            headers.append(("Range", f"bytes={byte_range[0]}-{byte_range[1]}"))
        base = offset - (byte_range[0] if byte_range else 0)  # the CRT's offsets are within the object
        written = 0
        last_byte = time.monotonic()
        failure: list[BaseException] = []

        def on_body(chunk: bytes, offset: int, **_: Any) -> None:
            nonlocal written, last_byte
            try:
                write_at(fd, chunk, base + offset)
                written += len(chunk)
                last_byte = time.monotonic()
                on_bytes(len(chunk))
            except BaseException as exc:  # noqa: BLE001 - a full disk: stop the transfer, raise it in the caller
                failure.append(exc)
                request.cancel()

        request = self._client.make_request(type=S3RequestType.GET_OBJECT, operation_name="GetObject",
                                            request=self._request(bucket, key, headers, version_id), on_body=on_body)
        future = request.finished_future
        try:
            while True:
                try:
                    future.result(0.2)
                    break
                except TimeoutError:
                    pass
                except BaseException as exc:  # noqa: BLE001 - re-raised below, as the botocore error it stands for
                    if failure:
                        raise failure[0] from None
                    raise self._translate(exc) from None
                if stop():
                    request.cancel()
                elif time.monotonic() - last_byte > READ_TIMEOUT:
                    request.cancel()
                    future.exception()  # wait for the CRT to let go of `fd`
                    raise ReadTimeoutError(endpoint_url=self._endpoint_url)
        finally:
            if not future.done():
                request.cancel()
                future.exception()  # never return while the CRT may still write into `fd`
            # on_body holds the request, and the CRT's native side holds on_body: a cycle that Python's collector
            # cannot see, which would keep every request (about 9 KB each) for the life of the process.
            request = None
        if failure:
            raise failure[0]
        return written

    def _translate(self, exc: BaseException) -> BaseException:
        from awscrt.exceptions import AwsCrtError
        from awscrt.s3 import S3ResponseError

        if isinstance(exc, S3ResponseError):
            body = (exc.body or b"").decode("utf-8", "replace")
            code = _tag(body, "Code") or str(exc.status_code)
            if exc.status_code == 412:
                code = "PreconditionFailed"
            return _client_error(code, _tag(body, "Message") or code, exc.status_code)
        if isinstance(exc, AwsCrtError):
            if exc.name in _S3_ANSWERS:  # the CRT reports some of S3's answers as its own errors, without the response
                code, status = _S3_ANSWERS[exc.name]
                return _client_error(code, exc.message or code, status)
            return translate_error(exc, self._endpoint_url, self._credentials)
        return exc


def translate_error(exc: Exception, endpoint_url: str, credentials: Credentials | None, connecting: bool = False) -> Exception:
    """The botocore exception for one of the CRT's own errors (an AwsCrtError): the credentials (as botocore failed to
    get them), a server that cannot be reached (offline: everything waits), else a connection broken mid-way (a retry
    of that request). `connecting`: it happened while connecting, so the server was not reached at all."""
    if "CREDENTIALS" in getattr(exc, "name", str(exc)):  # signing reports a failed delegate as a RuntimeError
        return (credentials and credentials.failure) or NoCredentialsError()
    if connecting or getattr(exc, "name", "") in _UNREACHABLE:
        return EndpointConnectionError(endpoint_url=endpoint_url)
    return ConnectionClosedError(endpoint_url=f"{endpoint_url} ({getattr(exc, 'name', exc)})")


class Credentials:
    """A botocore client's own credentials as the CRT's provider (what boto3's CRT transfer manager uses,
    boto3/crt.py): refreshed by botocore (SSO, assumed roles) whenever the CRT signs, or static keys given once.
    Remembers why the last refresh failed, so that the CRT's bare credentials error can be raised as botocore's own
    (an expired SSO sign-in is not the same as no credentials at all)."""

    def __init__(self, provider: Any, botocore_credentials: Any = None) -> None:
        self.provider = provider
        self.failure: Exception | None = None
        self._botocore = botocore_credentials
        self._last: list[Any] = [None, None]  # botocore's frozen credentials, and the CRT's copy of them

    @classmethod
    def of(cls, client: Any) -> Credentials:
        """The credentials of a botocore client."""
        from awscrt.auth import AwsCredentialsProvider
        from botocore.credentials import RefreshableCredentials  # botocore is loaded by then: no cost at start-up

        credentials = client._get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        if isinstance(credentials, RefreshableCredentials):
            made = cls(None, credentials)
            made.provider = AwsCredentialsProvider.new_delegate(made._current)
            return made
        frozen = credentials.get_frozen_credentials()  # keys that never change: no call into Python for each signing
        return cls.static(frozen.access_key, frozen.secret_key, frozen.token)

    @classmethod
    def static(cls, access_key: str, secret_key: str, token: str | None) -> Credentials:
        from awscrt.auth import AwsCredentialsProvider

        return cls(AwsCredentialsProvider.new_static(access_key, secret_key, token))

    def _current(self) -> Any:
        from awscrt.auth import AwsCredentials

        try:
            frozen = self._botocore.get_frozen_credentials()
        except Exception as exc:  # the CRT prints it as unraisable and reports only that it got none: kept for the caller
            self.failure = exc
            raise
        self.failure = None
        if frozen is not self._last[0]:
            self._last[:] = [frozen, AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)]
        return self._last[1]


@functools.cache
def bootstrap() -> Any:
    """The CRT's event loops and host resolver, one set for the process (the S3 downloads and the SQS calls)."""
    from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup

    loop = EventLoopGroup(min(4, os.cpu_count() or 2))
    return ClientBootstrap(loop, DefaultHostResolver(loop))


def _client_error(code: str, message: str, status: int) -> ClientError:
    """The error botocore would raise for this answer to a GetObject."""
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetObject")


def _tag(xml: str, name: str) -> str | None:
    match = re.search(f"<{name}>(.*?)</{name}>", xml, re.S)
    return match.group(1).strip() if match else None
