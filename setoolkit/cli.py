"""Command line: ``setoolkit models | enhance | score | fetch | run`` (also ``python -m setoolkit``)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import assets
from .cli_args import (
    HelpFormatter,
    UsageError,
    check_output_format,
    limit_arg,
    metrics_arg,
    models_arg,
    sets_arg,
    timeout_arg,
)
from .errors import Interrupted, SetoolkitError


def cmd_models(args) -> int:
    from .registry import list_models, runnable_models

    cols = [
        "name",
        "family",
        "rate",
        "framework",
        "frame/hop",
        "latency",
        "params",
        "MB",
        "stream",
        "weights",
        "status",
    ]
    here, _ = runnable_models()
    rows = []
    for c in list_models(available_only=args.available):
        size = c.file_bytes
        rows.append(
            [
                c.name,
                c.family,
                str(c.sample_rate),
                c.framework,
                f"{c.frame}/{c.hop}" if c.frame else "-",
                f"{c.latency_ms:g} ms" if c.latency_ms else "-",
                f"{c.params / 1e6:.2f}M" if c.params else "-",
                f"{size / 1e6:.1f}" if size else "-",
                "yes" if c.streaming else "no",
                _where(c, here),
                c.status,
            ]
        )
    widths = [max(len(r[i]) for r in rows + [cols]) for i in range(len(cols))]
    for r in [cols] + rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return 0


def _where(card, here) -> str:
    """The ``weights`` column: here, to download, or the extra the model needs first."""
    if card.available and card.missing_extras:
        return f"needs setoolkit[{card.missing_extras[0]}]"
    return "here" if card.name in here else ("download" if card.available else "-")


def cmd_enhance(args) -> int:
    from tqdm.auto import tqdm

    from .audio import info
    from .model_refs import load
    from .output_plan import plan_outputs
    from .registry import get_card, names_a_spec

    if names_a_spec(args.model):
        model = load(args.model)  # a spec of your own: built first, a bad spec is one error naming it
    else:
        get_card(args.model)  # a mistyped name first: it is the cheapest check
        model = None
    check_output_format(args.format, None, [])
    plan = plan_outputs(args.inputs, args.output, suffix=f".{args.format.lower()}" if args.format else None)
    check_output_format(args.format, args.subtype, plan)
    for src, _ in plan:  # every header is sane before the first model call
        info(src)
    model = model or load(args.model)
    for src, dst in tqdm(plan, desc=f"enhance {model.name}", disable=args.quiet):
        model.enhance_file(src, dst, downmix=args.downmix, subtype=args.subtype.upper() if args.subtype else None)
        if args.quiet is False and len(plan) == 1:
            print(dst)
    return 0


def cmd_score(args) -> int:
    from .metrics import DEFAULT_METRICS, catalog
    from .metrics import registry as metric_registry
    from .metrics.folders import score_folders

    metrics = metrics_arg(args.metrics) or list(DEFAULT_METRICS)
    intrusive = [n for n in metrics if metric_registry.get(n).intrusive]
    if args.clean is None and intrusive:
        raise UsageError(
            f"--clean DIR is needed for the intrusive metrics {', '.join(intrusive)}; without clean references "
            "name non-intrusive ones, e.g. --metrics dnsmos,distillmos"
        )
    table = score_folders(args.enhanced, args.clean, metrics=metrics, workers=args.workers, progress=not args.quiet)
    if args.csv:
        table.to_csv(args.csv, index=False)
    means = table[list(metric_registry.columns(metrics))].mean(numeric_only=True)
    print(f"{len(table)} {'pairs' if args.clean is not None else 'files'}")
    width = max(len(catalog.label(m, with_unit=True)) for m in means.index)
    for m, v in means.items():  # label, unit and digits from the metric catalogue
        print(f"{catalog.label(m, with_unit=True):>{width}s}  {v:.{catalog.digits(m) + 1}f}")
    _word_error_note(table, list(means.index), "reference")
    return 0


def _word_error_note(table, columns, paths: str) -> None:
    """Under a table with word error rates: what they were measured against (the written transcripts or the
    recogniser's own transcript of the clean files)."""
    from .metrics.asr import reference_note

    shown = [c for c in ("wer", "cer", "whisper_wer", "whisper_cer") if c in columns]
    if shown and paths in table:
        print(f"({', '.join(shown)} {reference_note(table[paths])})")


def cmd_fetch(args) -> int:
    from .registry import get_card

    assets.writable_cache_dir()

    names = []
    for n in args.names:
        names += list(get_card(n).weights) if not n.startswith(("weights/", "data/")) else [n]
    for n in names:
        print(assets.fetch(n))
    return 0


def _date(text: str | None) -> str:
    import datetime as dt

    return dt.date.today().isoformat() if text in (None, "today") else dt.date.fromisoformat(text).isoformat()


def cmd_run(args) -> int:
    from .main_job import DEFAULT_SETS, run_comparison

    limit, models, sets = limit_arg(args.limit), models_arg(args.models), sets_arg(args.sets, default=DEFAULT_SETS)
    metrics = metrics_arg(args.metrics, use_dnsmos=not args.no_dnsmos)
    out = run_comparison(
        metrics=metrics,
        models=models,
        datasets=sets,
        reports_dir=args.reports,
        figures_dir=args.figures,
        date=_date(args.date),
        limit=limit,
        workers=args.workers,
        scheduler=args.scheduler,
        use_dnsmos=not args.no_dnsmos,
        progress=not args.quiet,
        task_timeout=timeout_arg(args.task_timeout),
    )
    print(f"report: {out / 'report.html'}")
    print((out / "report.md").read_text().split("## Figures")[0])
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate, summarize
    from .metrics import DEFAULT_METRICS
    from .metrics import registry as metric_registry

    limit, models, sets = limit_arg(args.limit), models_arg(args.models), sets_arg(args.sets)
    metrics = metrics_arg(args.metrics, use_dnsmos=not args.no_dnsmos)
    table, stats = evaluate(
        models,
        sets,
        args.out,
        metrics=metrics or DEFAULT_METRICS,
        workers=args.workers,
        scheduler=args.scheduler,
        limit=limit,
        use_dnsmos=not args.no_dnsmos,
        progress=not args.quiet,
        return_stats=True,
        task_timeout=timeout_arg(args.task_timeout),
    )
    print(stats)
    shown = ("pesq_wb", "stoi", "si_sdr", "OVRL") if metrics is None else metric_registry.columns(metrics)[:6]
    cols = ["dataset", "model", "n", *shown, "rtf"]
    s = summarize(table, [c for c in shown if c in table.columns])
    print(s[[c for c in cols if c in s.columns]].round(3).to_string(index=False))
    _word_error_note(table, shown, "clean_path")
    print(f"table: {Path(args.out) / 'scores.csv'}")
    for name in stats.not_built:  # asked for and not run: the table is not what was asked
        print(f"setoolkit: error: model {name} could not be built; its rows are missing", file=sys.stderr)
    return 1 if stats.failed or stats.not_built else 0


def cmd_report(args) -> int:
    import pandas as pd

    from .report import build_report

    date = _date(args.date)
    out = Path(args.reports) / date
    source = Path(args.table) if args.table else out / "scores.csv"
    if not source.exists():
        raise SetoolkitError(f"{source}: no evaluation table; run `setoolkit run` or `setoolkit evaluate` first")
    table = pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source)
    build_report(table, out, date=date, figures_dir=args.figures)
    print(f"report: {out / 'report.html'}")
    return 0


def cmd_doctor(args) -> int:
    from .diagnostics.doctor import doctor

    if args.sr is not None and args.sr <= 0:
        raise UsageError(f"--sr {args.sr}: a sample rate is a positive number of Hz (e.g. 16000)")
    if args.n_pairs is not None and args.n_pairs <= 0:
        raise UsageError(f"--n-pairs {args.n_pairs}: must be a positive integer")
    report = doctor(args.model, audio=args.audio, sr=args.sr, pairs=args.pairs, n_pairs=args.n_pairs)
    print(report)
    return 1 if report.failed else 0


def cmd_listen(args) -> int:
    from .listening.server.run import main as listen_main  # starlette and uvicorn: setoolkit[listen-serve]

    return listen_main(args.argv)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="setoolkit", description="Run, debug and compare speech-enhancement models.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("models", help="table of model cards")
    s.add_argument("--available", action="store_true", help="only models that can be loaded now")
    s.set_defaults(func=cmd_models)

    s = sub.add_parser("enhance", help="enhance audio files (outputs keep the input's stem and sample rate)")
    s.add_argument("inputs", nargs="+", help="audio files or folders")
    s.add_argument("-m", "--model", required=True)
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--downmix", action="store_true", help="average channels first (default: each channel)")
    s.add_argument("--subtype", help="output subtype, e.g. PCM_16, PCM_24, FLOAT (default: the input's)")
    s.add_argument("--format", help="output format: wav, flac or ogg (default: the input's)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_enhance)

    s = sub.add_parser(
        "score",
        help="score enhanced files against clean references with matching names (or alone: non-intrusive metrics)",
        formatter_class=HelpFormatter,
    )
    s.add_argument("--clean", help="clean references (needed by the intrusive metrics)")
    s.add_argument("--enhanced", required=True)
    s.add_argument("--metrics", help="{metrics})")
    s.add_argument("--csv", help="write the per-file table here")
    s.add_argument("--workers", type=int)
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("fetch", help="fetch and verify weights (model names) or asset names")
    s.add_argument("names", nargs="+")
    s.set_defaults(func=cmd_fetch)

    s = sub.add_parser("doctor", help="diagnose a model: weights, I/O, outputs, delay, streaming, quality, env")
    s.add_argument("model")
    s.add_argument("--audio", help="audio file to test on (default: a real vbd16k noisy file)")
    s.add_argument("--sr", type=int, help="the rate you believe --audio has (checked against the file)")
    s.add_argument("--pairs", help="folder with clean/ and noisy/ for the quality check (default: vbd16k)")
    s.add_argument("--n-pairs", type=int, help="use only the first N pairs (default: all)")
    s.set_defaults(func=cmd_doctor)

    def add_eval_args(s):
        s.add_argument("--models", help="comma-separated model names (default: all available)")
        s.add_argument("--limit", type=int, help="files per set (default: all)")
        s.add_argument("--workers", type=int, help="local processes (default: all cores)")
        s.add_argument("--scheduler", help="Dask scheduler address: run the tasks on that cluster")
        s.add_argument("--metrics", help="{metrics}; DNSMOS and DistillMOS are added unless --no-dnsmos)")
        s.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS and DistillMOS")
        s.add_argument("--task-timeout", type=float, metavar="S", help="stop a task (a model on a file) after S s")
        s.add_argument("-q", "--quiet", action="store_true")

    s = sub.add_parser(
        "run",
        help="main job: evaluate every available model on the sample sets + daily report",
        formatter_class=HelpFormatter,
    )
    s.add_argument(
        "--sets",
        help="comma-separated sets (default: vbd16k,vbd48k,dns3_synthetic,dns3_blind,dns4_real48k,talkers16k)",
    )
    s.add_argument("--reports", default="reports")
    s.add_argument("--figures", default="figures")
    s.add_argument("--date", help="YYYY-MM-DD or today (default)")
    add_eval_args(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("evaluate", help="evaluation table (resumable) for models x sets", formatter_class=HelpFormatter)
    s.add_argument(
        "--sets",
        help="required: registry sets (vbd16k, dns3_blind...), folders (noisy/ [clean/], "
        "subfolders mirrored) or pair lists (.csv/.tsv with noisy,clean columns)",
    )
    s.add_argument("--out", required=True, help="output folder (rows/, audio/, scores.csv, scores.parquet)")
    add_eval_args(s)
    s.set_defaults(func=cmd_evaluate)

    from .datasets.commands import add_parser as add_datasets_parser

    add_datasets_parser(sub)

    s = sub.add_parser("report", help="write reports/DATE/report.{html,md} from an evaluation table")
    s.add_argument("--date", default="today")
    s.add_argument("--reports", default="reports")
    s.add_argument("--figures", default="figures")
    s.add_argument("--table", help="scores.csv/.parquet (default: reports/DATE/scores.csv)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser(
        "listen", help="listening test server: listen serve|invite|links TEST_DIR", add_help=False, prefix_chars="+"
    )
    s.add_argument("argv", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_listen)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"setoolkit: warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning  # one plain line per warning, no source line from inside setoolkit
    try:
        assets.mirrors()  # a broken config file is one error line before any work
        return args.func(args)
    except Interrupted as exc:  # SIGINT/SIGTERM during an evaluation: finished rows kept, 130/143
        print(f"setoolkit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C anywhere else (planning, a model's build, the report): no traceback
        print("setoolkit: interrupted (SIGINT)", file=sys.stderr)
        return 130
    except SetoolkitError as exc:
        print(f"setoolkit: error: {exc}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown
