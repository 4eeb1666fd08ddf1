#!/usr/bin/env bash
# The prepared script for a session lent the GPU machine (one GPU, 16 cores, no network; 10 min a command,
# 15 min in all): run it as ONE command from the repository root, results under $OUT (default ./gpu-session).
#
#   1. smoke: the quick organisms trained twice on the GPU must give the same weights (about a minute);
#   2. organisms on the GPU: the seeds in $SEEDS (default 1,2,3, the committed CPU set's), four at a time, into
#      $OUT/organisms-gpu, each process a single CPU thread beside the GPU (a set of its own: GPU weights are not
#      the CPU's; docs/organisms.md "On a GPU"), with its timing.json;
#   3. full size: python -m suites.perf.full_size --json $OUT/full_size.json (PERFORMANCE.md "Full size (GPU)").
#
# Each step has its own time limit (STEP1_S, STEP2_S, STEP3_S seconds) so that a slow one leaves time for the
# next; a step that fails or runs out is logged and the script goes on. Exit status: 0 when every step passed.
# Organisms finished before a limit keep their folders (each is saved when trained); MANIFEST and timing.json
# are written only when every seed finished.
set -uo pipefail
OUT=${OUT:-gpu-session}
SEEDS=${SEEDS:-1,2,3}
STEP1_S=${STEP1_S:-90}   # the three limits sum to 570 s: one command may run at most 600 s there
STEP2_S=${STEP2_S:-330}
STEP3_S=${STEP3_S:-150}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
status=0
step() {  # step NAME LIMIT COMMAND...: run it under its limit, log its output and wall time
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name: rc $rc, $((SECONDS - start)) s (limit $limit s)" | tee -a "$OUT/steps.log"
    [ "$rc" = 0 ] || status=1
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1
step smoke "$STEP1_S" python3 -m pytest tests/organisms/test_quick_train.py -k "gpu" -p no:cacheprovider -q -rs
step organisms "$STEP2_S" python3 -m harness.organisms train --device cuda --jobs 4 --seeds "$SEEDS" --no-cache \
    --out "$OUT/organisms-gpu"
step full_size "$STEP3_S" python3 -m suites.perf.full_size --json "$OUT/full_size.json"
exit $status
