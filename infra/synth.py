"""Synthesize one environment in-process, with cdk-nag, no AWS credentials and no CDK CLI.

    python infra/synth.py dev [--out infra/cdk.out/dev] [-c key=value ...]
Exit 0 and one summary line when every stack passes cdk-nag; exit 1 with the findings if not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agentry_infra.config import ENVIRONMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--out", default=None)
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--environments",
        action="store_true",
        help="print the aws://account/region targets to bootstrap, and do not synthesize",
    )
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context)
    out = args.out or str(Path(__file__).resolve().parent / "cdk.out" / args.env)
    started = time.monotonic()
    from agentry_infra.app import build

    platform = build(args.env, outdir=out, context=context)
    if args.environments:
        targets = sorted({f"aws://{s.account}/{s.region}" for s in platform.stacks.values()})
        print(" ".join(targets))
        return 0
    try:
        platform.app.synth()
    except RuntimeError as error:
        print(f"infra-synth {args.env}: cdk-nag or synth failed\n{error}", file=sys.stderr)
        return 1
    print(
        f"infra-synth {args.env}: {len(platform.stacks)} stacks, cdk-nag AwsSolutions passed, "
        f"{time.monotonic() - started:.1f} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
