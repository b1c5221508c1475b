"""The façade: the one layer that composes the core with rulesets, extractors and backends."""
