"""The bucket check: it exists, and its objects can be read, proved without downloading one."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from agent.aws.doctor.check import BUCKET, Check, skipped
from agent.aws.doctor.probe import Probe, aws_failure
from agent.aws.resources import bucket_from_queue_policy
from agent.engine import aws, permissions
from agent.engine.retry import DENIED, MISSING_BUCKET, error_code


def check_bucket(probe: Probe) -> Check:
    if not probe.signed_in or probe.clients is None:
        return skipped(BUCKET, "needs working credentials")
    config = probe.config
    s3, _, _ = probe.clients
    bucket, learnt = config.s3_bucket_name, ""
    if not bucket:
        session = aws.make_session(config)
        bucket = bucket_from_queue_policy(session, config.sqs_queue_url, config.sqs_endpoint, probe.region)
        if not bucket:
            return Check(BUCKET, None, "No bucket is set, so notifications from any bucket are accepted. Set "
                         "{s3_bucket_name} to check the bucket here and to refuse every other one.")
        learnt = " (named by the queue's policy; {s3_bucket_name} is not set)"
    objects = permissions.objects_arn(bucket, probe.region)
    listing = True
    try:
        head = s3.head_bucket(Bucket=bucket)
        region = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    except ClientError as exc:
        code = error_code(exc)
        if code in MISSING_BUCKET or code in ("404", "NotFound"):
            return Check(BUCKET, False, f"There is no bucket called {bucket}{learnt}.",
                         "Check {s3_bucket_name}: it is the bucket's name alone, as the S3 console lists it (no s3:// and no folder).")
        if code not in DENIED:
            return aws_failure(probe, BUCKET, exc, "s3:ListBucket", permissions.bucket_arn(bucket, probe.region), ("s3:ListBucket",))
        listing = False  # it exists (S3 says 404 for a missing bucket, whoever asks); listing it is not allowed
        region = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    except BotoCoreError as exc:
        return aws_failure(probe, BUCKET, exc, "s3:ListBucket", permissions.bucket_arn(bucket, probe.region), ("s3:ListBucket",))
    where = f"{bucket}{learnt}{f', in {region}' if region else ''}"
    key = probe.sample_key
    if key is None and listing:
        try:
            contents = s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("Contents", [])
        except (ClientError, BotoCoreError):
            contents = []
        key = contents[0]["Key"] if contents else None
    if key is not None:
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):  # denied, or another failure: aws_failure words it
                return aws_failure(probe, BUCKET, exc, "s3:GetObject", objects, permissions.OBJECT_ACTIONS)
            key = None
        except BotoCoreError as exc:
            return aws_failure(probe, BUCKET, exc, "s3:GetObject", objects, permissions.OBJECT_ACTIONS)
    if key is not None:
        return Check(BUCKET, True, f"{where}: objects can be read (tried on {key}).")
    if not listing:
        return Check(BUCKET, True, f"{where}: it exists. Reading its objects (s3:GetObject) cannot be tried without a "
                     "listing permission, so the first download will prove it. Without s3:ListBucket, catch-up cannot "
                     "list the bucket either.")
    return Check(BUCKET, True, f"{where}: reachable and empty, so the first download will prove that objects can be read.")
