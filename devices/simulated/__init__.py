"""Simulated devices: an analytical cost model over a model's captured operator graph, with device profiles
(TOML, under devices/profiles/) of published figures. Every figure they produce is labelled simulated."""
