"""Machinery every model family shares: the :class:`Enhancer` interface (``base``), ONNX/TFLite sessions
(``runtimes``), Keras h5 weight files (``keras_h5``) and strict torch checkpoint loading (``checkpoints``)."""
