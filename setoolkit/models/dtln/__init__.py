"""DTLN (breizhn/DTLN): ``enhancer`` (the stage pairs in TFLite/ONNX and the enhancer, framework-free) -> ``network``
(the Keras h5 in PyTorch) -> ``cards`` (one per released form)."""
