"""Evaluation sets: what a ``--sets`` entry names, the (noisy, clean) files of each set, and the tasks of a run.

A set is one of

* a **registry set** (``vbd16k``, ``dns3_blind``): the bare name, exactly as the registry spells it;
* a **built set** (``talkers16k``): the name of a recipe of :mod:`setoolkit.datasets`, built from its default
  seed into the cache on first use (:func:`setoolkit.datasets.built_set`) and read as a folder set;
* a **folder**: ``DIR/noisy`` (+ optional ``DIR/clean``) or a folder of noisy files. Subfolders are mirrored:
  ``noisy/a/x.wav`` pairs with ``clean/a/x.*``, and the file's key (the table's ``file`` column) is its path
  relative to ``noisy/`` (``a/x.wav``). A clean twin is found by stem across the audio formats
  (``noisy/x.wav`` with ``clean/x.flac``); two clean candidates for one stem are an error naming both;
* a **pair list** (``pairs.csv`` / ``pairs.tsv``, columns ``noisy`` and ``clean``): paths relative to the
  list's folder or absolute, any layout and rate; ``clean`` may be empty (no intrusive metrics for that file).
  The file key is the ``noisy`` cell as written. Missing files, a row with more cells than the header and one
  noisy file paired with two clean files are errors naming the line; a file listed again (however spelled:
  ``a/n1.wav``, ``a/sub/../n1.wav``, its absolute path; files are identified by resolved path) is evaluated once,
  with a warning.

Every set has a name unique in the run (:func:`resolve_sets`): a folder is named by its folder name (a list by
its file stem); two different sets with one name become ``myset`` and ``myset~2`` (with a warning naming both
paths); a local folder named like a registry set is labelled ``vbd16k (local)`` and never replaces the registry
set; a set or a model listed twice is evaluated once (with a warning).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .. import assets
from ..datasets import RECIPES, built_set
from ..errors import SetoolkitError
from ..metrics.scoring import DEFAULT_METRICS
from ..model_refs import ModelRef
from ..model_refs import resolve as resolve_refs
from ..output_plan import AUDIO_EXTS
from .isolation import restored_state
from .keys import task_content
from .task import NOISY, ORACLES, Task

#: Suffixes read as pair lists (``noisy``/``clean`` columns), with their delimiters.
PAIR_LISTS = {".csv": ",", ".tsv": "\t"}
_DELIMITER_NAMES = {",": "comma", "\t": "tab"}
#: Label added to a local set whose name is a registry set's.
LOCAL_LABEL = " (local)"


class SetError(SetoolkitError, ValueError):
    """A ``--sets`` entry that names no usable set, or a set whose files cannot be paired."""


@dataclass(frozen=True)
class SetSource:
    """One set of a run: its ``name`` (unique in the run; the table's ``dataset``), ``kind`` (``"registry"``,
    ``"built"``, ``"folder"`` or ``"list"``) and ``source`` (the registry name, or the absolute folder or list path)."""

    name: str
    kind: str
    source: str


@dataclass(frozen=True)
class SetFile:
    """One input of a set: ``key`` (unique in the set: the name, or the path relative to ``noisy/`` or as written
    in a pair list), the ``noisy`` path and its ``clean`` twin (``None`` when the set has none for it)."""

    key: str
    noisy: Path
    clean: Path | None


def registry_sets() -> set[str]:
    """Names of the registry's datasets (``data/<name>/...``)."""
    return {n.split("/")[1] for n in assets.registry() if n.startswith("data/") and n.count("/") >= 2}


def resolve_sets(datasets: Sequence[str | os.PathLike]) -> list[SetSource]:
    """The sets ``datasets`` names, each with a name unique in the run (see the module docstring).

    Raises :class:`SetError` (one line, naming the entry) for an empty list or entry, or an entry that is
    neither a registry set, a folder nor a pair list. Warns for every folded duplicate and renamed set.
    """
    if isinstance(datasets, (str, os.PathLike)):
        datasets = [datasets]
    if not datasets:
        raise SetError("no sets given: name registry sets (vbd16k...), folders or pair lists (pairs.csv)")
    known = registry_sets()
    out: list[SetSource] = []
    given: dict[tuple[str, str], str] = {}
    for entry in datasets:
        text = str(entry).strip()
        if not text:
            raise SetError(f"empty set name in {', '.join(map(str, datasets))!r}")
        if text in known and not (isinstance(entry, os.PathLike) and Path(entry).exists()):
            kind, source, base = "registry", text, text
            if Path(text).is_dir():
                warnings.warn(
                    f"{text}: using the registry set; a folder {text}/ is here too: write ./{text} "
                    f"to evaluate the folder (it is then labelled '{text}{LOCAL_LABEL}')"
                )
        elif text in RECIPES and not Path(text).exists():
            kind, source, base = "built", text, text
        else:
            path = Path(text).expanduser()
            if path.is_dir():
                kind, source, base = "folder", str(path.resolve()), path.resolve().name
            elif path.is_file() and path.suffix.lower() in PAIR_LISTS:
                kind, source, base = "list", str(path.resolve()), path.stem
            elif path.exists():
                raise SetError(
                    f"{text}: not a folder, a pair list (.csv/.tsv with noisy,clean columns) or a registry set"
                )
            else:
                names = ", ".join(sorted(known | set(RECIPES)))
                raise SetError(f"{text}: no such folder or pair list, and not a registry set (known: {names})")
            if not base:
                raise SetError(f"{text}: a set folder needs a name (not the file system root)")
            if base in known or base in RECIPES:
                base += LOCAL_LABEL
        if (kind, source) in given:
            warnings.warn(f"set {text!r} is listed twice ({given[kind, source]!r}, {text!r}): evaluated once")
            continue
        given[kind, source] = text
        name, k = base, 1
        taken = {s.name for s in out}
        while name in taken:
            k += 1
            name = f"{base}~{k}"
        if name != base:
            first = next(s for s in out if s.name == base)
            warnings.warn(f"two sets are named {base!r}: {first.source} is {base!r}, {source} is {name!r}")
        out.append(SetSource(name, kind, source))
    return out


def resolve_models(models: Sequence[str]) -> list[str]:
    """``models`` with duplicates folded (a warning names them) and file specs (``path/file.py:callable``) made
    absolute: the *sources* that build them (:func:`setoolkit.model_refs.resolve` gives each its display name)."""
    for m in models:
        if not str(m).strip():
            raise SetError(f"empty model name in {', '.join(map(str, models))!r}")
    refs, _ = resolve_refs(models, build_specs=False)
    return [r.source for r in refs]


def split_unbuildable(models: Sequence[str], *, mirror=None) -> tuple[list[str], dict[str, str]]:
    """``models`` minus the model specs that cannot give a model here, and ``{spec: reason}`` for those (each spec
    built once in this process, :func:`setoolkit.model_refs.resolve`, with the process state put back after it)."""
    with restored_state():  # a build() calling os.chdir or np.seterr changes nothing of the run
        refs, broken = resolve_refs(models, mirror=mirror)
    return [r.source for r in refs], broken


def _audio_under(folder: Path, *, skip: Path | None = None) -> list[Path]:
    """Audio files under ``folder`` (recursively; hidden files and folders and ``skip`` left out), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or Path(root, d) != skip))
        found += [Path(root, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_EXTS]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _folder_files(folder: Path) -> list[SetFile]:
    noisy_dir = folder / "noisy" if (folder / "noisy").is_dir() else folder
    clean_dir = folder / "clean" if (folder / "clean").is_dir() else None
    if clean_dir is not None and noisy_dir == folder:
        raise SetError(f"{folder}: has clean/ but no noisy/ folder; put the noisy files in {folder / 'noisy'}")
    noisy = _audio_under(noisy_dir)
    if not noisy:
        raise SetError(f"{noisy_dir}: no audio files ({', '.join(sorted(AUDIO_EXTS))})")
    twins: dict[str, list[Path]] = {}
    for c in _audio_under(clean_dir) if clean_dir else []:
        assert clean_dir is not None  # only iterated when there is one
        twins.setdefault(c.relative_to(clean_dir).with_suffix("").as_posix(), []).append(c)
    out, lonely = [], []
    for f in noisy:
        rel = f.relative_to(noisy_dir)
        cands = twins.get(rel.with_suffix("").as_posix(), [])
        if len(cands) > 1:
            raise SetError(f"{f}: two clean twins with its stem: {cands[0]} and {cands[1]}; keep one")
        if clean_dir is not None and not cands:
            lonely.append(rel.as_posix())
        out.append(SetFile(rel.as_posix(), f, cands[0] if cands else None))
    if lonely:
        names = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        warnings.warn(
            f"{len(lonely)} noisy file(s) in {noisy_dir} have no clean twin in {clean_dir} (no intrusive "
            f"metrics for them): {names}"
        )
    unused = sorted(set(twins) - {Path(s.key).with_suffix("").as_posix() for s in out})
    if unused:
        warnings.warn(
            f"{len(unused)} clean file(s) in {clean_dir} have no noisy twin and are not used: "
            + ", ".join(unused[:5])
            + (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
        )
    return out


def _list_files(path: Path) -> list[SetFile]:
    base, delimiter = path.parent, PAIR_LISTS[path.suffix.lower()]
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, delimiter=delimiter)
            rows = list(reader)
            header = [c.strip() for c in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SetError(f"{path}: not a readable pair list ({exc})") from None
    columns = [c.lower() for c in header]
    if not rows:
        raise SetError(f"{path}: no pairs (a header line 'noisy,clean' and one line per pair)")
    if "noisy" not in columns:
        raise SetError(f"{path}: no 'noisy' column (header: {', '.join(columns)}); write a header 'noisy,clean'")
    out: list[SetFile] = []
    seen: dict[Path, tuple[int, str, Path | None]] = {}  # resolved noisy -> (line, cell, resolved clean)
    problems, folded = [], []
    for line, row in enumerate(rows, start=2):
        if None in row:  # csv.DictReader puts the cells beyond the header under None
            problems.append(
                f"line {line}: {len(header) + len(row[None])} fields, the header has {len(header)} "
                f"({', '.join(header)}); a path with a {_DELIMITER_NAMES[delimiter]} in it needs double quotes"
            )
            continue
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        noisy_text, clean_text = row.get("noisy", ""), row.get("clean", "")
        if not noisy_text:
            problems.append(f"line {line}: empty noisy cell")
            continue
        noisy = base / Path(noisy_text).expanduser()
        clean = (base / Path(clean_text).expanduser()) if clean_text else None
        for side, p in (("noisy", noisy), ("clean", clean)):
            if p is not None and not p.is_file():
                problems.append(f"line {line}: {side} file {p} not found")
        # one file is one input, however it is spelled (a/n1.wav, a/sub/../n1.wav, its absolute path)
        real, real_clean = noisy.resolve(), clean.resolve() if clean else None
        if real in seen:
            first, text, first_clean = seen[real]
            if first_clean != real_clean:
                problems.append(f"line {line}: noisy {noisy_text} already on line {first} with another clean file")
            else:
                folded.append(f"line {line} ({noisy_text}) is line {first} ({text})")
            continue
        seen[real] = (line, noisy_text, real_clean)
        out.append(SetFile(Path(noisy_text).as_posix(), noisy, clean))
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise SetError(f"{path}: {'; '.join(problems[:5])}{more}")
    if folded:
        more = f" and {len(folded) - 5} more" if len(folded) > 5 else ""
        warnings.warn(
            f"{path}: {len(folded)} line(s) name a noisy file listed before (evaluated once): "
            + "; ".join(folded[:5])
            + more
        )
    return out


def set_pairs(dataset: str | os.PathLike | SetSource, *, mirror=None) -> list[SetFile]:
    """Every input of a set (a :class:`SetSource`, or any ``--sets`` entry), sorted by key."""
    src = dataset if isinstance(dataset, SetSource) else resolve_sets([dataset])[0]
    if src.kind == "folder":
        return _folder_files(Path(src.source))
    if src.kind == "built":
        return _folder_files(built_set(src.source, mirror=mirror))
    if src.kind == "list":
        return _list_files(Path(src.source))
    names = [n for n in assets.registry() if n.startswith(f"data/{src.source}/")]
    if any(n.startswith(f"data/{src.source}/clean/") for n in names):
        return [SetFile(n.name, n, c) for c, n in assets.dataset_pairs(src.source, mirror=mirror)]
    return [SetFile(f.name, f, None) for f in assets.dataset_files(src.source, mirror=mirror)]


def set_files(dataset: str | os.PathLike, *, mirror=None) -> list[tuple[Path, Path | None]]:
    """``(noisy, clean or None)`` for every file of a registry dataset, a local folder or a pair list."""
    return [(f.noisy, f.clean) for f in set_pairs(dataset, mirror=mirror)]


def path_part(name: str) -> str:
    """``name`` as one safe path component: itself when it is plain (``[A-Za-z0-9._+-]``, ``~``), otherwise
    a readable slug plus a short hash (so two names never share a folder)."""
    if re.fullmatch(r"[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*", name) and name not in (".", ".."):
        return name
    slug = re.sub(r"[^A-Za-z0-9._+~-]+", "_", name).strip("._")[-60:]
    return f"{slug or 'x'}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def check_limit(limit: int | None) -> None:
    """``limit`` (files per set) must be ``None`` or a positive integer; anything else is a :class:`SetError`."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise SetError(f"limit={limit!r}: files per set must be a positive integer (or none for all)")


def make_tasks(
    models: Sequence[str | ModelRef],
    datasets: Sequence[str],
    out_dir: Path,
    *,
    limit: int | None = None,
    mirror=None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    use_dnsmos: bool = True,
) -> list[Task]:
    """All tasks (noisy baseline first) for ``models`` x ``datasets``, with their content keys.

    Sets are resolved by :func:`resolve_sets` (unique names), models by :func:`setoolkit.model_refs.resolve`
    (no duplicates, display names, absolute spec paths as their sources; already resolved references are taken as
    they are). Outputs go to ``out_dir/audio/<set>/<model>/<key dir>/<stem>.<key[:8]><ext>`` (set and
    model as :func:`path_part`): named by content, so a changed model never overwrites the output an older row
    (and an older report) points to.
    """
    check_limit(limit)
    refs = [m for m in models if isinstance(m, ModelRef)]
    if len(refs) < len(models):
        refs, broken = resolve_refs([str(m) for m in models], mirror=mirror)
        if broken:
            raise SetError("; ".join(broken.values()))
    by_name = {r.name: r for r in refs}
    by_name.setdefault(NOISY, ModelRef(NOISY, NOISY, "noisy"))
    tasks = []
    outputs = Path(out_dir).resolve()
    root = Path(out_dir).absolute()  # a task that changes the working folder still writes here
    for src in resolve_sets(datasets):
        files = set_pairs(src, mirror=mirror)
        if src.kind == "folder" and outputs.is_relative_to(Path(src.source)):
            inputs = [f for f in files if not Path(f.noisy).resolve().is_relative_to(outputs)]
            if len(inputs) < len(files):  # an earlier run's outputs inside the set folder are not inputs
                warnings.warn(
                    f"{src.name}: {len(files) - len(inputs)} audio file(s) under the output folder "
                    f"{outputs} are outputs, not inputs of the set; left out"
                )
            files = inputs
        for f in files[:limit]:
            for m in dict.fromkeys([NOISY, *by_name]):  # the noisy baseline once, even when asked for
                if m in ORACLES and f.clean is None:
                    continue  # an oracle needs the clean speech
                source = by_name[m].source
                t = Task(
                    src.name,
                    m,
                    str(f.noisy),
                    str(f.clean) if f.clean else None,
                    None,
                    task_content(source, f.noisy, f.clean, metrics=metrics, use_dnsmos=use_dnsmos, mirror=mirror),
                    file=f.key,
                    source=source,
                )
                if m != NOISY:
                    rel = Path(f.key)
                    folder = root / "audio" / path_part(src.name) / path_part(m)
                    folder = folder.joinpath(*(path_part(p) for p in rel.parent.parts if p not in ("", "/", "..")))
                    t = replace(t, output=str(folder / f"{rel.stem}.{t.key[:8]}{rel.suffix}"))
                tasks.append(t)
    return tasks
