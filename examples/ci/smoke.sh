#!/usr/bin/env bash
# The CI smoke check, step by step: every step of the GitHub Actions workflow
# beside this file (sweep-smoke.yml) that does sweep's work is this script,
# and scripts/test runs it too, so the recipe is tested with the code.
#
#   examples/ci/smoke.sh [RESULTS_DIR [REPORT_DIR]]     (default: results report)
#
#   1. `sweep validate` every experiment file under experiments/;
#   2. `sweep run EXPERIMENT --smoke`: the tiny version of each run, trained
#      (runs cached in RESULTS_DIR from an earlier CI run are not retrained);
#   3. `sweep report`: the table on the log, and the HTML page with its
#      figures in REPORT_DIR (the workflow uploads it as an artifact).
#
# Environment:
#   SWEEP                    the sweep command (default: scripts/sweep, which
#                            creates the PyTorch environment and builds sweep
#                            when needed)
#   SWEEP_SMOKE_EXPERIMENT   the experiment to smoke (default: experiments/smoke.yaml)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
sweep="${SWEEP:-$root/scripts/sweep}"
experiment="${SWEEP_SMOKE_EXPERIMENT:-experiments/smoke.yaml}"
results="${1:-results}"
report="${2:-report}"

files=(experiments/*.yaml)
case " ${files[*]} " in
  *" $experiment "*) ;;
  *) files+=("$experiment") ;;
esac
echo "== sweep validate ${files[*]}"
"$sweep" validate "${files[@]}"

echo "== sweep run $experiment --smoke (results in $results)"
"$sweep" run "$experiment" --smoke --results "$results"

echo "== sweep report $experiment --smoke (HTML in $report)"
"$sweep" report "$experiment" --smoke --results "$results"
"$sweep" report "$experiment" --smoke --results "$results" --format html --out "$report"
test -s "$report/index.html" || { echo "no report was written to $report/index.html" >&2; exit 1; }
echo "report: $report/index.html"
