"""Studies over the models: parity with upstream outputs, streaming ablations, variant tables, demonstrations of
known failures. They use the models; the models never import them."""
