"""SEGAN+ (santi-pdp/segan_pytorch): ``network`` (the network, its checkpoint loading and streaming state; PyTorch)
-> ``cards`` (one per released checkpoint, framework-free)."""
