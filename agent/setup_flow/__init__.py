"""The setup's answers, their defaults and the rules between them, with no UI: the Setup window and `s3-sqs-agent setup`
both ask its questions (account, queue, bucket, folder) and show its results.

The rules: the region comes from the queue URL when it names one; a queue URL whose host is not AWS names the endpoint;
the bucket is read from the queue's policy while none was typed (again whenever the queue or its endpoint changes);
and whatever this process has from its environment that the agent started at login would not (AWS_ENDPOINT_URL,
AWS_PROFILE, AWS_REGION...) becomes an answer that is saved, so the checks see only what the config gives.
"""

from agent.setup_flow.accounts import (
    ADD_KEY,
    AMBIENT,
    DEFAULT_KEY_PROFILE,
    Account,
    accounts,
    describe_profile,
    find_accounts,
    free_profile_name,
    signed_in_until,
)
from agent.setup_flow.environment import LABELS, EnvironmentKey, Inherited, environment_key, forget_inherited, inherited_from
from agent.setup_flow.flow import (
    DEFAULT_FOLDER,
    QUESTIONS,
    BucketLookup,
    SetupFlow,
    clean_bucket,
    failed_step,
    queue_endpoint,
    read_current,
)

__all__ = ["ADD_KEY", "AMBIENT", "DEFAULT_FOLDER", "DEFAULT_KEY_PROFILE", "LABELS", "QUESTIONS", "Account", "BucketLookup",
           "EnvironmentKey", "Inherited", "SetupFlow", "accounts", "clean_bucket", "describe_profile", "environment_key", "failed_step",
           "find_accounts", "forget_inherited", "free_profile_name", "inherited_from", "queue_endpoint", "read_current",
           "signed_in_until"]
