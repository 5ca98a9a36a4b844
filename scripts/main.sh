#!/usr/bin/env bash
# Main job: set up .venv, enhance the real sample recordings with every available model, score them,
# write figures/ and reports/YYYY-MM-DD/report.{html,md}.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
.venv/bin/python -m setoolkit run "$@"
