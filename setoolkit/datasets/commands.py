"""``setoolkit datasets make NAME --out DIR [--seed N]`` and ``setoolkit datasets verify DIR``: the command line of
the built sets, added to the main parser by :func:`add_parser`."""

from __future__ import annotations

from .build import make_set, verify_set
from .recipes import DEFAULT_SEED, RECIPES


def cmd_datasets(args) -> int:
    """``make``: build the set and print its folder; ``verify``: print each problem (exit 1) or that all match."""
    if args.action == "make":
        folder = make_set(args.name, args.out, seed=args.seed)
        print(f"{folder}: {len(list((folder / 'noisy').rglob('*.wav')))} files, seed {args.seed}")
        return 0
    problems = verify_set(args.name)
    print("\n".join(problems) or f"{args.name}: every file matches SHA256SUMS")
    return 1 if problems else 0


def add_parser(sub) -> None:
    """Add the ``datasets`` subcommand to ``sub`` (the main parser's subparsers)."""
    s = sub.add_parser("datasets", help="build an evaluation set from real recordings (make), or check one (verify)")
    s.add_argument("action", choices=("make", "verify"))
    s.add_argument("name", help=f"make: the set ({', '.join(RECIPES)}); verify: a built set's folder")
    s.add_argument("--out", default=".", help="make: write the set into OUT/NAME/ (default: here)")
    s.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"make: random seed (default {DEFAULT_SEED})")
    s.set_defaults(func=cmd_datasets)
