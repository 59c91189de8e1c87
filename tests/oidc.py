"""A local stand-in for IAM Identity Center on 127.0.0.1: the OIDC API that signs a person in, and the portal's
GetRoleCredentials that turns the sign-in into AWS credentials. No real AWS.

Point boto3 at it with `endpoint_url` (DeviceSignIn's), or with AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO
(`stand_in.environment()`) for a child process such as `s3-sqs-agent setup` or botocore's own credential chain.

The person "approves" in the browser after `pending_polls` CreateToken calls answered authorization_pending
(`slow_down_polls` of them answered slow_down first); `outcome` can instead be "denied" or "expired".
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
START_URL = "https://corp.awsapps.com/start"
# Profiles for the stand-in: "studio" (an sso-session), "legacy" (the older form) and "keys" (an access key).
CONFIG = f"""\
[profile studio]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = AudioReader
region = us-east-1

[sso-session corp]
sso_start_url = {START_URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-west-2
sso_account_id = 123456789012
sso_role_name = AudioReader
region = us-east-1

[profile keys]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = secret
"""


@dataclass
class OidcState:
    pending_polls: int = 2
    slow_down_polls: int = 0
    outcome: str = "approve"  # or "denied", "expired"
    interval: int = 1
    access_token_seconds: int = 3600
    issue_refresh_tokens: bool = True
    registrations: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    role_requests: list[dict[str, str]] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    opened: list[str] = field(default_factory=list)  # URLs "opened in the browser" (DeviceSignIn's open_url)


class OidcStandIn:
    """RegisterClient, StartDeviceAuthorization, CreateToken (device code and refresh token) and GetRoleCredentials."""

    def __init__(self, **state: Any) -> None:
        self.state = OidcState(**state)
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, error = stand_in._post(urlsplit(self.path).path, body)
                self._answer(status, payload, error)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, payload, error = stand_in._get(parts.path, query, self.headers.get("x-amz-sso_bearer_token", ""))
                self._answer(status, payload, error)

            def _answer(self, status: int, payload: dict[str, Any], error: str | None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-stand-in", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OidcStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def environment(self) -> dict[str, str]:
        """The variables that send botocore's sso-oidc and sso clients here."""
        return {"AWS_ENDPOINT_URL_SSO_OIDC": self.url, "AWS_ENDPOINT_URL_SSO": self.url}

    def open_url(self, url: str) -> bool:
        """A stand-in for the browser: remembers the URL it was asked to open."""
        self.state.opened.append(url)
        return True

    # ------------------------------------------------------------ the API

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        with self._lock:
            state = self.state
            if path == "/client/register":
                state.registrations.append(body)
                now = int(time.time())
                return 200, {"clientId": f"client-{len(state.registrations)}", "clientSecret": f"secret-{uuid.uuid4().hex}",
                             "clientIdIssuedAt": now, "clientSecretExpiresAt": now + 90 * 86_400}, None
            if path == "/device_authorization":
                state.authorizations.append(body)
                code = f"device-{len(state.authorizations)}"
                return 200, {"deviceCode": code, "userCode": "WXYZ-1234", "verificationUri": f"{self.url}/device",
                             "verificationUriComplete": f"{self.url}/device?user_code=WXYZ-1234", "expiresIn": 600,
                             "interval": state.interval}, None
            if path == "/token":
                state.token_requests.append(body)
                if body.get("grantType") == DEVICE_GRANT:
                    if state.slow_down_polls > 0:
                        state.slow_down_polls -= 1
                        return 400, {"error": "slow_down"}, "SlowDownException"
                    if state.pending_polls > 0:
                        state.pending_polls -= 1
                        return 400, {"error": "authorization_pending"}, "AuthorizationPendingException"
                    if state.outcome == "denied":
                        return 400, {"error": "access_denied"}, "AccessDeniedException"
                    if state.outcome == "expired":
                        return 400, {"error": "expired_token"}, "ExpiredTokenException"
                elif body.get("grantType") != "refresh_token" or not body.get("refreshToken"):
                    return 400, {"error": "unsupported_grant_type"}, "UnsupportedGrantTypeException"
                token = f"access-{uuid.uuid4().hex}"
                state.access_tokens.add(token)
                answer = {"accessToken": token, "tokenType": "Bearer", "expiresIn": state.access_token_seconds}
                if state.issue_refresh_tokens:
                    answer["refreshToken"] = f"refresh-{uuid.uuid4().hex}"
                return 200, answer, None
        return 404, {"message": f"no such operation: POST {path}"}, "ResourceNotFoundException"

    def _get(self, path: str, query: dict[str, str], bearer: str) -> tuple[int, dict[str, Any], str | None]:
        with self._lock:
            if path == "/federation/credentials":
                self.state.role_requests.append({**query, "token": bearer})
                if bearer not in self.state.access_tokens:
                    return 401, {"message": "Session token not found or invalid"}, "UnauthorizedException"
                return 200, {"roleCredentials": {"accessKeyId": "ASIASTANDIN000000001", "secretAccessKey": "stand-in-secret",
                                                 "sessionToken": "stand-in-session", "expiration": int(time.time() + 3600) * 1000}}, None
        return 404, {"message": f"no such operation: GET {path}"}, "ResourceNotFoundException"
