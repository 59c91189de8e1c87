"""SQS through the AWS Common Runtime: the agent's queue calls signed and sent in native code, answered as botocore would.

botocore spends about a millisecond of CPU under the GIL on each SQS request (serialising, its event hooks, parsing),
which a drain of small files pays on every receive and delete batch. SQS speaks JSON (AWS JSON 1.0), so the calls the
agent makes (receive, delete and change visibility in batches, send for the dead-letter queue, the queue's attributes)
are a JSON body POSTed with an X-Amz-Target header. `CrtSqsClient` has the same methods, arguments and results as
botocore's SQS client for those calls, and raises the same exceptions (ClientError with botocore's error code, its
connection errors), so agent/engine/sqs.py and the retry policy cannot tell them apart. It retries as botocore's
standard mode does (3 attempts; throttling, 5xx and broken connections). botocore builds the client's endpoint, region
and credentials, and serves every call when the CRT cannot (see crt.unavailable), or for anything else.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import random
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from agent.engine import crt

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # botocore's standard retry mode, as the agent's botocore clients use it (aws.CLIENT_SETTINGS)
READ_TIMEOUT = 30.0  # seconds for any call to answer; a receive adds its long poll (botocore's read_timeout, aws.py)
CONNECT_TIMEOUT_MS = 5000
_IDLE_CONNECTIONS = 8
_CONTENT_TYPE = "application/x-amz-json-1.0"
# botocore's standard mode retries these besides 5xx answers and broken connections (botocore/retries/standard.py)
_THROTTLED = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
                        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
                        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"})
_TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


class CrtSqsClient:
    """The SQS calls of agent/engine/sqs.py, for one endpoint. Thread-safe; keeps a few connections open for reuse."""

    def __init__(self, endpoint_url: str, region: str, credentials: crt.Credentials, *, ca_bundle: str | None = None,
                 user_agent: str = "s3-sqs-agent") -> None:
        """`ca_bundle`: the certificates to trust instead of the system's (AWS_CA_BUNDLE, a profile's ca_bundle)."""
        from awscrt.io import ClientTlsContext, SocketOptions, TlsContextOptions

        endpoint = urlsplit(endpoint_url)
        self._endpoint_url = endpoint_url
        self._host = endpoint.hostname or ""
        self._secure = endpoint.scheme == "https"
        self._port = endpoint.port or (443 if self._secure else 80)
        self._host_header = endpoint.netloc
        self._path = endpoint.path or "/"
        self._region = region
        self._credentials = credentials
        self._bootstrap = crt.bootstrap()
        self._socket = SocketOptions()
        self._socket.connect_timeout_ms = CONNECT_TIMEOUT_MS
        self._tls = None
        if self._secure:
            options = TlsContextOptions()
            if ca_bundle:
                options.override_default_trust_store_from_path(None, ca_bundle)
            self._tls = ClientTlsContext(options)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._user_agent = user_agent

    @classmethod
    def create(cls, sqs_client: Any) -> tuple[CrtSqsClient | None, str]:
        """The client for what a botocore SQS client resolved (endpoint, region, credentials, certificates), or None
        when botocore must serve (the reason, in words for the log)."""
        why = crt.unavailable(None)
        if why is not None:
            return None, f"botocore ({why})"
        try:
            if sqs_client.meta.config.proxies:
                return None, "botocore (the SQS client has a proxy, and the AWS Common Runtime does not read it)"
            verify = getattr(getattr(getattr(sqs_client, "_endpoint", None), "http_session", None), "_verify", True)
            if verify is False:
                return None, "botocore (TLS verification is off for SQS)"
            return cls(sqs_client.meta.endpoint_url, sqs_client.meta.region_name, crt.Credentials.of(sqs_client),
                       ca_bundle=verify if isinstance(verify, str) else None,
                       user_agent=str(getattr(sqs_client.meta.config, "user_agent", None) or "s3-sqs-agent")), crt.CRT_PATH
        except Exception as exc:  # noqa: BLE001 - any doubt: botocore serves every call
            log.debug("Not using the AWS Common Runtime for SQS: %s", exc)
            return None, f"botocore (the AWS Common Runtime could not start: {type(exc).__name__}: {exc})"

    # ------------------------------------------------------------ the calls (botocore's names and shapes)

    def receive_message(self, **params: Any) -> dict[str, Any]:
        wait = float(params.get("WaitTimeSeconds", 0))
        response = self._call("ReceiveMessage", params, READ_TIMEOUT + wait)
        for message in response.get("Messages", []):
            for attribute in message.get("MessageAttributes", {}).values():
                if "BinaryValue" in attribute:  # blobs come base64-encoded in JSON; botocore hands over bytes
                    attribute["BinaryValue"] = base64.b64decode(attribute["BinaryValue"])
        return response

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteMessageBatch", params)

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        return self._call("ChangeMessageVisibility", params)

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        return self._call("ChangeMessageVisibilityBatch", params)

    def send_message(self, **params: Any) -> dict[str, Any]:
        return self._call("SendMessage", params)

    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        return self._call("GetQueueAttributes", params)

    # ------------------------------------------------------------ sending

    def _call(self, operation: str, params: dict[str, Any], timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        body = json.dumps(params, separators=(",", ":")).encode()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                status, headers, data = self._send(operation, body, timeout)
            except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError):
                if attempt == MAX_ATTEMPTS:
                    raise
            else:
                if status < 300:
                    return json.loads(data) if data else {}
                error = client_error(operation, status, headers, data)
                code = str(error.response["Error"]["Code"])
                if attempt == MAX_ATTEMPTS or not (status in _TRANSIENT_STATUS or code in _THROTTLED or code in _TRANSIENT_CODES):
                    raise error
            time.sleep(random.random() * min(20.0, 2.0 ** (attempt - 1)))  # botocore's standard backoff
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, operation: str, body: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        from awscrt.auth import AwsSignatureType, AwsSigningAlgorithm, AwsSigningConfig, aws_sign_request
        from awscrt.exceptions import AwsCrtError
        from awscrt.http import HttpHeaders, HttpRequest

        request = HttpRequest("POST", self._path, HttpHeaders([
            ("Host", self._host_header), ("Content-Type", _CONTENT_TYPE), ("X-Amz-Target", f"AmazonSQS.{operation}"),
            ("x-amzn-query-mode", "true"), ("Content-Length", str(len(body))), ("User-Agent", self._user_agent),
        ]), io.BytesIO(body))
        signing = AwsSigningConfig(algorithm=AwsSigningAlgorithm.V4, signature_type=AwsSignatureType.HTTP_REQUEST_HEADERS,
                                   credentials_provider=self._credentials.provider, region=self._region, service="sqs",
                                   signed_body_value=hashlib.sha256(body).hexdigest())
        try:
            aws_sign_request(request, signing).result(timeout)
        except Exception as exc:  # noqa: BLE001 - an AwsCrtError, or a RuntimeError for credentials botocore could not get
            raise crt.translate_error(exc, self._endpoint_url, self._credentials) from None
        connection = self._connection(timeout)
        response = _Response()
        try:
            stream = connection.request(request, response.on_response, response.on_body)
            stream.activate()
            stream.completion_future.result(timeout)
        except TimeoutError:
            connection.close()
            raise ReadTimeoutError(endpoint_url=self._endpoint_url) from None
        except AwsCrtError as exc:
            connection.close()
            raise crt.translate_error(exc, self._endpoint_url, self._credentials) from None
        self._release(connection)
        return response.status, response.headers, b"".join(response.body)

    def _connection(self, timeout: float) -> Any:
        from awscrt.exceptions import AwsCrtError
        from awscrt.http import HttpClientConnection

        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.is_open():
                    return connection
        tls = None
        if self._tls is not None:
            from awscrt.io import TlsConnectionOptions

            tls = TlsConnectionOptions(self._tls)
            tls.set_server_name(self._host)
        try:
            return HttpClientConnection.new(host_name=self._host, port=self._port, bootstrap=self._bootstrap,
                                            socket_options=self._socket, tls_connection_options=tls).result(timeout)
        except TimeoutError:
            raise EndpointConnectionError(endpoint_url=self._endpoint_url) from None
        except AwsCrtError as exc:
            raise crt.translate_error(exc, self._endpoint_url, self._credentials, connecting=True) from None

    def _release(self, connection: Any) -> None:
        with self._lock:
            if connection.is_open() and len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _Response:
    """What the CRT's callbacks (on its own threads) collect of one answer."""

    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []

    def on_response(self, status_code: int, headers: list[tuple[str, str]], **_: Any) -> None:
        self.status = status_code
        self.headers = {name.lower(): value for name, value in headers}

    def on_body(self, chunk: bytes, **_: Any) -> None:
        self.body.append(bytes(chunk))


def client_error(operation: str, status: int, headers: dict[str, str], body: bytes) -> ClientError:
    """The ClientError botocore raises for this error answer to an SQS (JSON, query-compatible) call: the same Code,
    Message and status (botocore/parsers.py, BaseJSONParser._do_error_parse)."""
    try:
        parsed = json.loads(body.decode("utf-8")) if body else {}
    except ValueError:
        parsed = {"message": body.decode("utf-8", "replace")}
    if not isinstance(parsed, dict):
        parsed = {}
    error: dict[str, Any] = {"Message": parsed.get("message", parsed.get("Message", "")), "Code": ""}
    code = parsed.get("__type", str(status))
    if ":" in code:
        code = code.split(":", 1)[0]
    if "#" in code:
        code = code.rsplit("#", 1)[1]
    query = headers.get("x-amzn-query-error", "").split(";")
    if len(query) == 2 and query[0]:
        error["QueryErrorCode"], error["Type"], code = code, query[1], query[0]
    error["Code"] = code
    metadata: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
    if "x-amzn-requestid" in headers:
        metadata["RequestId"] = headers["x-amzn-requestid"]
    response: Any = {"Error": error, "ResponseMetadata": metadata}
    return ClientError(response, operation)
