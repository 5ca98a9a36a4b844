"""The DeepFilterNet family, bottom-up: ``dsp`` (STFT, ERB features, normalisations, deep filter, attenuation limit)
-> ``onnx_graphs`` (the exported encoder / ERB decoder / DF decoder and their streaming state) -> ``enhancer``
(offline and streaming, every size read from the export's config.ini) -> ``cards`` (one per export: the official
48 kHz ones and Hush at 16 kHz). ``weya_runtime``: Hush's vendor runtime through ctypes, the reference it is checked
against (never used by the cards)."""
