"""The DeepFilterNet family, bottom-up: ``dsp`` (STFT, ERB features, normalisations, deep filter) -> ``onnx_graphs``
(the exported encoder / ERB decoder / DF decoder and their streaming state) -> ``enhancer`` (offline and
streaming) -> ``cards`` (one per released export)."""
