"""The DPCRN family, bottom-up: ``config`` (released hyper-parameters, h5 weight layout, features, masks) ->
the networks per runtime (``keras_graph``: TF-native Keras 3 graph; ``torch_port``: PyTorch port with its
streaming step; ``frame_exports`` + ``output_roles``: per-frame TFLite/ONNX exports; ``vctk_reimplementation``: a
third-party PyTorch model) -> ``enhancer`` (the models on the shared framing base) -> ``cards`` (one per released
checkpoint). Studies that use these models live in :mod:`setoolkit.studies.dpcrn`.
"""
