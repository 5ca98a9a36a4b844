"""Speech emotion recognition: datasets (CREMA-D, EmoDB), features (eGeMAPS / ComParE, log-mel), models (SVM, CNN,
CRNN), speaker-independent evaluation (leave-one-speaker-out) and the noise / enhancement robustness study.
Results and how to get CREMA-D: docs/emotion.md.

>>> from setoolkit.emotion import datasets, evaluation, features, models
>>> table = datasets.load_emodb()                         # one row per utterance: path, speaker, emotion, ...
>>> audio = datasets.load_audio(table, sr=16000)          # (utterances, 32000), 2.0 s each
>>> X = features.functionals(audio, 16000)                # (utterances, 88) eGeMAPSv02
>>> folds = evaluation.run_loso(X, table.emotion, table.speaker, models.svm_classifier(),
...                             classes=datasets.EMODB_CLASSES)
"""

from .datasets import CREMAD_CLASSES, EMODB_CLASSES, load_audio, load_cremad, load_emodb

__all__ = ["CREMAD_CLASSES", "EMODB_CLASSES", "load_audio", "load_cremad", "load_emodb"]
