"""Where events come from: the bundled snapshot, curated TOML files and the CPSC feed."""
