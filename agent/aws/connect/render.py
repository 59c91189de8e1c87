"""The words of a connect or disconnect plan, as a person reads them in the terminal and in the Setup window: the
resources' names, each step's line, and every sentence the planners and apply() say. Nothing here decides anything."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from agent.aws.connect.kinds import Resource

LABELS = {
    Resource.DEAD_LETTER_QUEUE: "dead-letter queue",
    Resource.QUEUE: "queue",
    Resource.TOPIC: "topic",
    Resource.SUBSCRIPTION: "subscription",
    Resource.RULE: "EventBridge rule",
    Resource.BUCKET_NOTIFICATIONS: "bucket notifications",
    Resource.CONFIG_FILE: "config file",
}
"""Each kind of resource as a plan names it."""


# ---------------------------------------------------------------- the plan's layout


def step_line(action: str, what: str, name: str, detail: str, width: int | None = None) -> str:
    """`  create  queue                 NAME`, and the detail below the name (wrapped to `width` when given)."""
    indent = " " * 32
    head = f"  {action:<7} {what:<21} {name}"
    if width and len(head) > width:
        head = textwrap.fill(head, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    if not detail:
        return head
    return f"{head}\n" + (textwrap.fill(detail, width, initial_indent=indent, subsequent_indent=indent) if width else indent + detail)


def plan_lines(command: str, summary: str, steps: Sequence[str], notes: Sequence[str], problems: Sequence[str],
               width: int | None = None) -> list[str]:
    """The plan as a person reads it; with `width`, long lines are wrapped (a terminal), else left whole."""
    def para(text: str, hang: str = "") -> str:
        return textwrap.fill(text, width, subsequent_indent=hang) if width else text

    out = [para(summary), ""]
    out += steps
    if notes:
        out += ["", *(para(n) for n in notes)]
    if problems:
        out += ["", f"{command.capitalize()} cannot go ahead:", *(para(f"- {p}", "  ") for p in problems)]
    return out


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


# ---------------------------------------------------------------- what was asked


def bad_choice(option: str, choices: Sequence[str], value: str) -> str:
    return f"{option} must be one of {', '.join(choices)}, not {value!r}."


NO_SUFFIX = "--suffix needs a value such as .wav."


def bad_queue_name(name: str) -> str:
    return f"--queue-name {name!r} cannot name a queue: use up to 76 letters, digits, '-' and '_'."


def connect_summary(workstation: str, bucket: str, region: str, scope: str, shared: bool, via: str) -> str:
    return (f"Connect this computer ({workstation}) to the bucket {bucket} ({region}), for {scope}: "
            + ("its own copy of every new file" if not shared else "one shared queue, each file going to one of the workstations")
            + (", through an SNS topic." if via == "sns" else ", through EventBridge."))


def disconnect_summary(workstation: str, bucket: str) -> str:
    return f"Disconnect this computer ({workstation}) from the bucket {bucket or '(unknown)'}: remove what connect created for it."


def disconnect_gone_summary(workstation: str, queue: str) -> str:
    return f"Disconnect this computer ({workstation}) from the queue {queue}."


# ---------------------------------------------------------------- reading


def no_bucket(bucket: str) -> str:
    return (f"The bucket {bucket!r} does not exist, or is not visible to these credentials. Check its name (as shown in the "
            "S3 console) and the account your profile signs in to.")


def config_has_errors(problems: Sequence[str]) -> str:
    return "The config file has errors that connect would not fix; correct them first:\n    " + "\n    ".join(problems)


def wrong_region(bucket: str, bucket_region: str) -> str:
    return (f"The bucket {bucket} is in {bucket_region}, and S3 notifies only topics, queues and EventBridge in its own "
            f"region. Run again with --region {bucket_region}, or without --region.")


# ---------------------------------------------------------------- the queues


def queue_not_ours(label: str, name: str) -> str:
    return (f"A {label} named {name} exists already and was not created by s3-sqs-agent. Choose another name with "
            "--queue-name; connect never takes over what it did not create.")


def queue_for_other_bucket(label: str, name: str, bucket: str) -> str:
    return (f"The {label} {name} was created by connect for the bucket {bucket}. Choose another name with --queue-name, "
            "or disconnect it first.")


def dlq_created(days: int) -> str:
    return f"keeps messages the agent gave up on, with the reason, for {days} days"


def queue_created(shared: bool, days: int, via: str) -> str:
    what = "shared by every workstation connected in share mode; " if shared else ""
    return f"{what}keeps messages {days} days; only the {'topic' if via == 'sns' else 'EventBridge rule'} may send to it"


def queue_changed(policy: bool, redrive: bool, joins: bool, tags: bool, members: Sequence[str]) -> str:
    changed = [*(["who may send to it"] if policy else []), *(["its dead-letter queue"] if redrive else []),
               *(["this workstation joins its members"] if joins else []), *(["its tags"] if tags else [])]
    detail = f"also used by {', '.join(members)}" if members else ""
    return "; ".join(filter(None, [", ".join(changed) and f"update: {', '.join(changed)}", detail]))


def queue_stays_for(others: Sequence[str], leaving: bool) -> str:
    return f"stays for {', '.join(others)}, still connected in share mode{'; this workstation leaves its members' if leaving else ''}"


QUEUE_GONE = "does not exist any more: nothing to remove in AWS"


def queue_holds_messages(name: str, count: int) -> str:
    return (f"The queue {name} still holds {plural(count, 'message')} that the agent has not handled yet (files not "
            "downloaded, or S3's test message sent when the bucket was wired). Let the agent take them first (leave it "
            "running, or run s3-sqs-agent run --headless --drain), then run disconnect again.")


def dlq_holds_messages(name: str | None, count: int) -> str:
    return (f"The dead-letter queue {name} holds {count} messages that failed. Look at them in the AWS console (SQS, the "
            "queue, Send and receive messages), redrive them or purge them, then run disconnect again.")


def messages_arrived(name: str, count: int) -> str:
    return (f"{count} messages arrived in the queue {name} meanwhile, so it was not removed. Let the agent download them, "
            "then run disconnect again.")


# ---------------------------------------------------------------- the topic and its subscription


TOPIC_CREATED = "the bucket's topic: every workstation subscribes its own queue to it"
TOPIC_CHANGED = "let the bucket publish to it"
SUBSCRIPTION_CREATED = "raw messages: each S3 event reaches the queue as S3 wrote it"
ALREADY_GONE = "already gone"


def topic_unseen(topic: str) -> str:
    return (f"The bucket sends its events to the topic {topic}, which these credentials cannot see. Ask the topic's owner "
            "to let your account subscribe to it, or connect with --via eventbridge.")


def topic_kept(agents: bool, others: int) -> str:
    whose = "the bucket's topic" if agents else "the topic the bucket already sends these events to"
    return f"{whose}; {plural(others, 'other subscription')}"


def subscription_name(queue: str, topic: str) -> str:
    return f"{queue} to {topic}"


def topic_still_used(others: int) -> str:
    if not others:
        return "not created by s3-sqs-agent"
    return f"{plural(others, 'other subscription')} use{'s' if others == 1 else ''} it"


TOPIC_UNUSED = "no other subscriptions use it"


def conflicts(bucket: str, described: Sequence[str], kinds: set[str]) -> list[str]:
    """What stands in the way of sending these events to a topic, and the way around it, in plain words."""
    problems = [f"The bucket {bucket} already sends {entry}. S3 sends the same events for overlapping keys to only one "
                "destination, so it cannot also send them to a topic for this workstation." for entry in described]
    advice = []
    if "queue" in kinds:
        advice.append("To give every workstation its own copy, move that queue behind a topic: the queue keeps getting "
                      "every event, through the topic, and each workstation subscribes its own queue beside it "
                      "(docs/aws.md, \"Moving a queue or function behind a topic\"). Or, for this computer to share that "
                      "queue's work, put the queue's URL in sqs_queue_url: no connect is needed.")
    if "Lambda function" in kinds:
        advice.append("A Lambda function can move behind a topic the same way: subscribe it to a topic and send these "
                      "events to the topic instead (docs/aws.md, \"Moving a queue or function behind a topic\").")
    if "topic" in kinds:
        advice.append("That topic carries only the keys shown. Connect with a --prefix and --suffix inside them, or ask "
                      "the topic's owner to widen its filter.")
    advice.append("Or connect with --via eventbridge: EventBridge receives every event of the bucket without taking a "
                  "destination away from anyone. Connect changes nothing that it did not create.")
    return [*problems, " ".join(advice)]


# ---------------------------------------------------------------- the EventBridge rule


def rule_created(prefix: str) -> str:
    under = f" under {prefix!r}" if prefix else ""
    return f"sends the bucket's Object Created events{under} to the queue"


RULE_CHANGED = "update its event pattern and target"
EVENTBRIDGE_STAYS = ("The bucket keeps sending its events to EventBridge: other rules may use them, and they cost nothing "
                     "where no rule matches.")


def rule_description(bucket: str, queue: str) -> str:
    """The rule's own description in AWS (at most 512 characters)."""
    return f"s3-sqs-agent: the bucket {bucket}'s new objects to the queue {queue}"[:512]


# ---------------------------------------------------------------- the bucket's notifications


BUCKET_LEFT = "left as they are (see below)"
BUCKET_TOPIC_STAYS = "the topic still receives the bucket's events"
TO_EVENTBRIDGE = "every event to EventBridge (it costs nothing where no rule matches)"


def bucket_kept(topic: str | None) -> str:
    return f"already announces these objects to {f'the topic {topic}' if topic else 'EventBridge'}"


def kept(count: int) -> str:
    if count <= 0:
        return "no other configurations"
    return f"{plural(count, 'other configuration')} kept as {'they are' if count != 1 else 'it is'}"


def bucket_changed(added: Sequence[str], replaced: Sequence[str], others: int) -> str:
    parts = [f"add {a}" for a in added] + [f"replace {r} (the agent's own, narrower)" for r in replaced]
    return "; ".join(parts) + "; " + kept(others)


def bucket_unwired(removed: Sequence[str], others: int) -> str:
    return "remove " + "; ".join(removed) + "; " + kept(others)


def changed_meanwhile(bucket: str) -> str:
    return (f"The bucket {bucket}'s event notifications were changed by someone else after the plan was made, so connect "
            "did not write them (that would undo the other change). Nothing on the bucket was changed. Run the command "
            "again to see a fresh plan.")


def not_read_back(bucket: str, seconds: float) -> str:
    return (f"The bucket {bucket}'s event notifications were written, but {seconds:.0f} s later they still do not read back "
            "as written: S3 may be slow to show the change, or someone else is editing them at this moment. Check them in "
            "the S3 console (the bucket, Properties, Event notifications), then run the command again: it changes only "
            "what is missing.")


# ---------------------------------------------------------------- the config file


NEW_QUEUE_URL, NEW_DLQ_URL = "(the new queue's URL)", "(the new dead-letter queue's URL)"


def config_set(keys: Sequence[str]) -> str:
    return f"set {', '.join(keys)} (comments kept; a running agent picks it up)"


def config_unset(dead_letter_queue: bool, stops: bool = True) -> str:
    text = f"empty sqs_queue_url{', remove dead_letter_queue_url' if dead_letter_queue else ''}"
    return f"{text} (the agent stops until it is set up again)" if stops else text


def profile_differs(written: str | None, asked: str) -> str:
    return (f"The agent itself signs in with {written or 'the default AWS credentials'}, not --profile {asked}; set "
            f"aws_profile in the config if it should use {asked}.")


TAGGED = "Everything connect creates is tagged created-by=s3-sqs-agent; `s3-sqs-agent disconnect` removes it again."


def not_ours(queue: str) -> str:
    return (f"The queue {queue} was not created by s3-sqs-agent connect, so disconnect leaves it alone. To stop downloading "
            "from it, quit the agent or change sqs_queue_url in the config.")


def cannot_apply(problems: Sequence[str]) -> str:
    return " ".join(problems) or "This plan cannot be applied."
