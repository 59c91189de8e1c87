"""`s3-sqs-agent connect` and `disconnect`: plan what this workstation needs in AWS, show the plan, then apply it.

A plan is data (plan.py: what exists, and steps that each carry a kind of resource and an action); the CLI prints it
and the Setup window shows it (their words come from render.py), and apply() carries it out, dispatching on each
step's kind. One planner per resource (connecting.py, disconnecting.py); planning only reads (read.py). Every
resource that `connect` creates is tagged `created-by: s3-sqs-agent`, and `disconnect` removes only what carries that
tag. The bucket's notification configuration is read, added to and written back, never rebuilt, and apply() refuses
to write it when it changed since the plan was made.
"""

from agent.aws.connect.apply import Applied, apply
from agent.aws.connect.connecting import plan_connect
from agent.aws.connect.disconnecting import plan_disconnect
from agent.aws.connect.kinds import Action, Resource
from agent.aws.connect.names import fit_name, include_patterns, publisher_statement, sender_statement, workstation_name
from agent.aws.connect.plan import (
                                    CREATED_BY,
                                    MAX_RECEIVES,
                                    MODES,
                                    RETENTION_SECONDS,
                                    ROUTES,
                                    VISIBILITY_SECONDS,
                                    ChangedMeanwhile,
                                    ConnectError,
                                    ConnectRequest,
                                    Facts,
                                    Plan,
                                    Step,
)

__all__ = ["CREATED_BY", "MAX_RECEIVES", "MODES", "RETENTION_SECONDS", "ROUTES", "VISIBILITY_SECONDS", "Action", "Applied",
           "ChangedMeanwhile", "ConnectError", "ConnectRequest", "Facts", "Plan", "Resource", "Step", "apply", "fit_name",
           "include_patterns", "plan_connect", "plan_disconnect", "publisher_statement", "sender_statement", "workstation_name"]
