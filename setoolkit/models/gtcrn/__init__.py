"""GTCRN (Rong et al., ICASSP 2024), the PyTorch port of the released checkpoints: ``network`` (the network, its
checkpoint loading and streaming state; PyTorch) -> ``cards`` (one per released checkpoint, framework-free)."""
