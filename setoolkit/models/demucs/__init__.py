"""Demucs speech enhancement (facebookresearch/denoiser), bottom-up: ``resampling`` (the sinc filters) ->
``network`` (the PyTorch network, state-dict compatible with the releases) -> ``stream`` (hop by hop, incremental)
-> ``enhancer`` (a loaded model and its checkpoint loading) -> ``cards`` (one per released checkpoint,
framework-free)."""
