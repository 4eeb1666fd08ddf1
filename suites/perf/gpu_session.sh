#!/usr/bin/env bash
# The prepared script for a session lent the GPU machine (one GPU, 16 cores, no network; 10 min a command,
# 15 min in all): run it as ONE command from the repository root; results under $OUT (default ./gpu-session).
#
#   0. wheels: where ./.whl holds wheels (the project's pinned transformers and tokenizers; that machine's image
#      has other versions), they are installed under /tmp/site and put first on PYTHONPATH. Make them here first
#      and name .whl in the tool's carry (it is ignored by git):
#        python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#          --platform manylinux2014_x86_64 -d .whl transformers==5.23.0 tokenizers==0.23.3
#   1. organisms (docs/organisms.md, amendment 4): the seeds in $SEEDS (default 4-9), each in one single-thread
#      process per group of $PROCESSES (default: text-first, aligned and frozen, which share the text-pretrained
#      decoder; and joint), all at once beside the GPU, each `python -m harness.organisms train --device cuda` into
#      a folder of its own under $OUT/work; a GPU smoke test (the quick organisms trained twice on the GPU give the
#      same weights) runs beside them unless SMOKE=0, and so does tests/stats/test_device.py (the analysis on the
#      device, --ks-device cuda, which no CPU run exercises) unless DEVICE_TESTS=0. Limit ORGANISMS_S for all of it (with 9-12 processes a
#      training step took about 50 ms: docs/organisms.md "On a GPU");
#   2. full size (unless FULL=0): python -m suites.perf.full_size --json (PERFORMANCE.md "Full size (GPU)"), limit FULL_S;
#      its figures with the date, machine and software as full_size_gpu.json, which is committed as
#      suites/perf/measured/full_size_gpu.json for suites.perf.report to write PERFORMANCE.md's section from;
#      in turn: capture of both models (~25 s with the start), the verdict's test at 2 x 20,000 and 2 x 50,000 keys,
#      then each model's intervention study on STUDY_PROMPTS fixture questions (default 72; 0: none; one counted
#      and timed run of the study and of plain passes, estimated 1-2 min a model, not yet measured there); both
#      JSON files are rewritten after each measurement, so the limit cuts only what had not finished;
#   3. packing: each process's folder, as it ends, into organisms-sK.tar (one per seed, so at most 7 seeds: the tool
#      brings back at most 8 files, 16 MiB each), every log and JSON into logs.tgz at the end. Here: untar them,
#      then `python -m harness.organisms gather s4-text-first s4-joint ... --out DIR` makes one organisms folder
#      (and evaluates any organism whose process was cut after saving its weights).
#
# A step that fails or runs out is logged (steps.log) and the script goes on; exit status 0 when every step passed.
# Every organism is saved as soon as it is trained, so a limit that cuts a process keeps what it finished.
# SEEDS= SMOKE=0 DEVICE_TESTS=0 runs the full-size step alone (its own call, e.g. after a call that trained organisms with FULL=0).
# DEVICE=cpu QUICK=1 runs the same plumbing on the quick plan on a machine without a GPU (a dry run of the script).
set -uo pipefail
OUT=${OUT:-gpu-session}
SEEDS=${SEEDS-4,5,6,7,8,9}  # at most 7 (one tar each); empty (SEEDS=): no organisms, e.g. for the full-size step alone
DEVICE=${DEVICE:-cuda}
ORGANISMS_S=${ORGANISMS_S:-390}
FULL_S=${FULL_S:-420}
STUDY_PROMPTS=${STUDY_PROMPTS:-72}
QUICK=${QUICK:-}
PROCESSES=${PROCESSES:-"text-first,aligned,frozen joint"}  # one process per group per seed, all at once
JOINT_GATE=${JOINT_GATE:-}  # off: joint does not train the text stage only to read the gate (its seed's text-first did)
SMOKE=${SMOKE:-1}
FULL=${FULL:-1}
mkdir -p "$OUT/work"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
status=0
log() { echo "$*" | tee -a "$OUT/steps.log"; }
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        > "$OUT/wheels.log" 2>&1 && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} || { log "wheels: install failed"; status=1; }
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc;
  python3 -c "import torch, transformers, tokenizers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'cuda', torch.cuda.is_available())"; } \
    > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

start=$SECONDS
pids=()
quick=${QUICK:+--quick}
for k in ${SEEDS//,/ }; do
    for group in $PROCESSES; do
        name="s$k-${group%%,*}"
        gate=()
        [ "$group" = joint ] && [ -n "$JOINT_GATE" ] && gate=(--text-gate "$JOINT_GATE")
        timeout "$ORGANISMS_S" python3 -m harness.organisms train $quick --device "$DEVICE" --jobs 1 --seeds "$k" \
            --histories "$group" "${gate[@]}" --no-cache --out "$OUT/work/$name" > "$OUT/work/$name.log" 2>&1 &
        pids+=("$!:$name")
    done
done
if [ "$DEVICE" = cuda ] && [ "$SMOKE" = 1 ]; then
    timeout "$ORGANISMS_S" python3 -m pytest tests/organisms/test_quick_train.py -k gpu -p no:cacheprovider -q -rs \
        > "$OUT/smoke.log" 2>&1 &
    pids+=("$!:smoke")
fi
if [ "$DEVICE" = cuda ] && [ "${DEVICE_TESTS:-1}" = 1 ]; then
    # the analysis on the device (--ks-device cuda: statistics, tiers, maps), which no CPU run exercises
    timeout "$ORGANISMS_S" python3 -m pytest tests/stats/test_device.py -p no:cacheprovider -q -rs \
        --ks-results "$OUT/work/device-tests.jsonl" --ks-report "$OUT/work/device-tests.html" > "$OUT/device-tests.log" 2>&1 &
    pids+=("$!:device-tests")
fi
for entry in "${pids[@]}"; do
    wait "${entry%%:*}"
    rc=$?
    name=${entry#*:}
    log "$name: rc $rc at $((SECONDS - start)) s (limit $ORGANISMS_S s)"
    [ "$rc" = 0 ] || status=1
    # packed as it ends, one tar per seed under $OUT: what comes back even if the command itself is cut
    [ -d "$OUT/work/$name" ] && tar -rf "$OUT/organisms-${name%%-*}.tar" -C "$OUT/work" "$name" "$name.log"
done
log "organisms: all processes ended at $((SECONDS - start)) s"

if [ "$DEVICE" = cuda ] && [ "$FULL" = 1 ]; then
    start=$SECONDS
    # --record: what suites.perf.report reads (PERFORMANCE.md "Full size (GPU)"); commit it as suites/perf/measured/full_size_gpu.json
    timeout "$FULL_S" python3 -m suites.perf.full_size --study-prompts "$STUDY_PROMPTS" \
        --json "$OUT/full_size.json" --record "$OUT/full_size_gpu.json" \
        > "$OUT/full_size.log" 2>&1
    rc=$?
    log "full_size: rc $rc, $((SECONDS - start)) s (limit $FULL_S s)"
    [ "$rc" = 0 ] || status=1
fi

work_logs=$(cd "$OUT/work" && ls *.log 2>/dev/null)  # none where SEEDS is empty
tar -czf "$OUT/logs.tgz" -C "$OUT" steps.log machine.txt $(cd "$OUT" && ls smoke.log device-tests.log full_size.log full_size.json full_size_gpu.json wheels.log 2>/dev/null) \
    ${work_logs:+-C work $work_logs}
rm -rf "$OUT/work" "$OUT"/*.log "$OUT"/full_size*.json "$OUT/machine.txt"
ls -la "$OUT"
exit $status
