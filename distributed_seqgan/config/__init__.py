"""Typed run configuration: the schema (``schema.py``) and reading and writing it
(``loading.py``). Everything else imports from here."""

from .loading import (
    dump_config,
    load_config,
    load_run_config,
    parse_override,
    read_config_tree,
)
from .schema import (
    ALGORITHM_SECTIONS,
    Config,
    DataConfig,
    DiscriminatorConfig,
    EvalConfig,
    GeneratorConfig,
    OracleConfig,
    PoolConfig,
    RayConfig,
    RunConfig,
    ScheduleConfig,
    ScheduledSamplingConfig,
    WandbConfig,
    changes_results,
    flatten,
    key_applies,
    read_by_adversarial_only,
    to_dict,
)

__all__ = [
    "ALGORITHM_SECTIONS", "Config", "DataConfig", "DiscriminatorConfig", "EvalConfig",
    "GeneratorConfig", "OracleConfig", "PoolConfig", "RayConfig", "RunConfig",
    "ScheduleConfig", "ScheduledSamplingConfig", "WandbConfig", "changes_results",
    "dump_config", "flatten", "key_applies", "load_config", "load_run_config",
    "parse_override", "read_by_adversarial_only", "read_config_tree", "to_dict",
]  # fmt: skip
