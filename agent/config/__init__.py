"""The config file: its keys (schema), reading and validating it (parse), writing it keeping comments (edit).

The names other modules use are re-exported here: `from agent.config import Config, load, update_file`."""

from agent.config.checks import SQS_MAX_VISIBILITY_SECONDS, did_you_mean, parse_rate
from agent.config.edit import REMOVE, options_text, preview_update, read_options, update_file, with_changes, write_template
from agent.config.parse import (
                                MAX_CONFIG_BYTES,
                                FileValues,
                                PluginEntry,
                                file_values,
                                is_not_set_up,
                                load,
                                make_download_folder,
                                needs_setup,
                                parse,
                                region_from_queue_url,
                                resolve_folder,
)
from agent.config.schema import (
                                BY_NAME,
                                CREDENTIAL_KEYS,
                                ENDPOINT_PLACEHOLDER,
                                KEYS,
                                KNOWN_KEYS,
                                PAGES,
                                REQUIRED_KEYS,
                                RESTORE_TIERS,
                                SCALARS,
                                Config,
                                Key,
                                NotificationSettings,
                                PluginSpec,
                                RestoreSettings,
                                Shown,
                                Widget,
)
from agent.config.template import TEMPLATE
from agent.errors import ConfigError, ConfigProblem

__all__ = [
    "BY_NAME", "CREDENTIAL_KEYS", "ENDPOINT_PLACEHOLDER", "KEYS", "KNOWN_KEYS", "MAX_CONFIG_BYTES", "PAGES",
    "REMOVE", "REQUIRED_KEYS", "RESTORE_TIERS", "SCALARS", "SQS_MAX_VISIBILITY_SECONDS", "TEMPLATE", "Config",
    "ConfigError", "ConfigProblem", "FileValues", "Key", "NotificationSettings", "PluginEntry", "PluginSpec",
    "RestoreSettings", "Shown", "Widget", "did_you_mean", "file_values", "is_not_set_up", "load",
    "make_download_folder", "needs_setup", "options_text", "parse", "parse_rate", "preview_update", "read_options",
    "region_from_queue_url", "resolve_folder", "update_file", "with_changes", "write_template",
]
