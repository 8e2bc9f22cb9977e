"""Scenario files (TOML: a base plus overrides) and the statistics the model starts from (data/)."""
