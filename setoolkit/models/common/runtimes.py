"""Inference runtimes shared by the families: one place that opens an ONNX or TFLite file and turns a
broken file into an :class:`~setoolkit.errors.AssetError` naming it."""

from __future__ import annotations

from ...errors import AssetError


def onnx_session(model, *, threads: int = 1, name: str | None = None, denormal_as_zero: bool = False):
    """An onnxruntime CPU session for a path (or serialized bytes) with ``threads`` intra-op threads, warnings
    silenced; ``denormal_as_zero`` flushes denormals (recurrent nets decaying towards 0 slow down otherwise)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if denormal_as_zero:
        opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        label = name or (model if isinstance(model, str) else "ONNX model")
        raise AssetError(f"{label}: not a loadable ONNX model ({type(exc).__name__}: {str(exc)[:120]})") from None


def tflite_interpreter(path: str, *, threads: int = 1, delegates: bool = True):
    """A TFLite (LiteRT) interpreter with tensors allocated; ``delegates=False`` leaves out the XNNPACK
    delegate so that every op of the graph stays inspectable (its tensors readable after ``invoke``)."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:  # pragma: no cover - TensorFlow's bundled copy as a fallback
        from tensorflow.lite import Interpreter
        from tensorflow.lite.experimental import OpResolverType
    kw = {} if delegates else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    try:
        it = Interpreter(model_path=path, num_threads=threads, **kw)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise AssetError(f"{path}: not a loadable TFLite model ({exc})") from None
    return it
