"""Model families. Each module holds one family (architecture, checkpoint loading, streaming state);
the cards that name them live in :mod:`setoolkit.registry`."""
