"""The credentials check: who the agent signs in as, and what to do when AWS refuses it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from agent.aws.doctor.check import CREDENTIALS_CHECK, Check, duration
from agent.aws.doctor.local import CLOCK_FIX, SKEW_LIMIT_SECONDS
from agent.aws.doctor.probe import Probe, aws_failure, rejected_credentials
from agent.aws.profiles import CREDENTIAL_SOURCES
from agent.aws.resources import mask_account_ids
from agent.config import Config
from agent.engine import aws
from agent.engine.retry import error_code
from agent.errors import CredentialsError, ProfileNotFoundError


def check_credentials(probe: Probe) -> Check:
    config = probe.config
    try:
        session = aws.make_session(config)
    except ProfileNotFoundError as missing:
        guess = f"{missing.did_you_mean} " if missing.nearest else ""
        return Check(CREDENTIALS_CHECK, False, f"There is no AWS profile called {config.aws_profile!r} on this computer.",
                     f"{guess}Choose a profile that exists in {{aws_profile}} (s3-sqs-agent setup lists them), or add it, "
                     "then run the checks again.", suggestion=missing.nearest)
    probe.region = config.aws_region or session.region_name or aws.LOCAL_REGION
    try:
        s3, sqs = aws.make_clients(config, session)
        sts = aws.make_client(session, "sts", config.endpoint_url)
    except CredentialsError:  # no region, and AWS itself needs one
        return Check(CREDENTIALS_CHECK, False, "No AWS region is set, and the queue URL does not name one.",
                     "{Add|Fill in} {aws_region}{ to the config|} (the queue's region, such as us-east-2), or set the "
                     "profile's region.")
    probe.clients = (probe.watch(s3), probe.watch(sqs), probe.watch(sts))
    profile = f"profile {config.aws_profile}" if config.aws_profile else None
    try:
        identity = sts.get_caller_identity()
        credentials = session.get_credentials()
    except NoCredentialsError:
        return Check(CREDENTIALS_CHECK, False, "No AWS credentials were found.",
                     "Run s3-sqs-agent setup and choose a profile or add an access key; or set AWS_ACCESS_KEY_ID and "
                     "AWS_SECRET_ACCESS_KEY; or run where an instance role applies.")
    except ClientError as exc:
        if rejected_credentials(exc):
            return Check(CREDENTIALS_CHECK, False, f"AWS rejected the credentials{f' of {profile}' if profile else ''} ({error_code(exc)}).",
                         credentials_fix(config, probe))
        return aws_failure(probe, CREDENTIALS_CHECK, exc, "sts:GetCallerIdentity", "*", ("sts:GetCallerIdentity",))
    except BotoCoreError as exc:  # an SSO sign-in that expired, a credential process that failed, no connection...
        if isinstance(exc, EndpointConnectionError):
            probe.unreachable = True
            return aws_failure(probe, CREDENTIALS_CHECK, exc, "", "", ())
        return Check(CREDENTIALS_CHECK, False, f"The credentials{f' of {profile}' if profile else ''} cannot be used: {exc}",
                     credentials_fix(config, probe))
    probe.signed_in = True
    method = credentials.method if credentials is not None else ""
    source = CREDENTIAL_SOURCES.get(method, method or "the AWS chain")
    return Check(CREDENTIALS_CHECK, True, f"{mask_account_ids(str(identity.get('Arn', '?')))}, from {profile + ', ' if profile else ''}{source}.")


def credentials_fix(config: Config, probe: Probe) -> str:
    profile = config.aws_profile
    fix = ("Sign in again: s3-sqs-agent setup (or aws sso login"
           f"{f' --profile {profile}' if profile else ''}) for IAM Identity Center; for an access key, check it is "
           "active in the IAM console or create a new one.")
    if probe.server_date is not None and probe.local_date is not None:
        skew = (probe.local_date - probe.server_date).total_seconds()
        if abs(skew) > SKEW_LIMIT_SECONDS:
            fix = f"This computer's clock is {duration(abs(skew))} {'fast' if skew > 0 else 'slow'}: {CLOCK_FIX} " + fix
    return fix
