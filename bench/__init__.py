"""`make bench`: the agent beside s5cmd, rclone and the AWS CLI against one local S3+SQS server (docs/performance.md).

One module per job: common (paths, environment, statistics), server (ministack and /proc), wired (a bucket announcing
uploads on a queue), agent (running the agent as a user does), tools (the reference tools), ceilings (the server's
own limits), proxy (a counting proxy), workloads/ (one module per table), report (the tables and the targets) and
cli (`python -m bench`). The helpers tests/ already has (free ports, waiting, the desktop) are shared, not copied.
"""
