#!/usr/bin/env bash
# E3 (../shared/docs/EXPERIMENTS.md): variable stars, EROS-1 (source, all labelled) -> MACHO
# (target, a stratified 70/30 train/test split drawn with the seed, k labels per class), DVT and the
# baselines (target-only, source-only on the shared features, M2 on the target alone), 5 seeds.
#   scripts/run-e3.sh [OUT_DIR]          (default runs/e3)
# Environment: JOBS (default 2), THREADS (per run, default 1), SEEDS (default "1 2 3 4 5"),
# ONLY (regular expression on the run folder), DRY=1 (print the commands only).
# A run whose metrics.json exists is skipped. The summary tables are printed at the end.
set -euo pipefail
out=${1:-runs/e3}
bin=${GENXFER_BIN:-build/genxfer}
jobs=${JOBS:-2}
threads=${THREADS:-1}
seeds=${SEEDS:-1 2 3 4 5}
only=${ONLY:-.}
run_opts=()
. "$(dirname "$0")/runs-lib.sh"

net=(--enc 128,128 --dec 128,128 --z 10 --batch 64 --batch-unlabelled 64)
dvt=(--preset dvt "${net[@]}" --epochs 150 --kl-warmup 10 --class-balance --prior reestimate)
mlp=(--preset mlp --enc 128,128 --batch 64 --epochs 300)   # target-only: k rows per class, one step an epoch
mlp_source=(--preset mlp --enc 128,128 --batch 64 --epochs 30)
m2=(--preset m2 "${net[@]}" --epochs 150 --kl-warmup 10 --class-balance --prior reestimate)

for s in $seeds; do
    for k in 1 5 10; do
        add "$out/four/dvt/k$k/seed$s" "${dvt[@]}" --seed "$s" --domain "$eros_all" \
            --domain "$macho4,k=$k,test=0.3"
        add "$out/four/target-only/k$k/seed$s" "${mlp[@]}" --seed "$s" --domain "$macho4,k=$k,test=0.3"
        add "$out/four/m2-target/k$k/seed$s" "${m2[@]}" --seed "$s" --domain "$macho4,k=$k,test=0.3"
    done
    # k = 0: the shared features, one input block, each survey standardised on its own
    add "$out/shared/dvt/k0/seed$s" "${dvt[@]}" --seed "$s" --domain "$eros_shared" \
        --domain "$macho_shared,share=eros,k=0,test=0.3"
    # source-only: a classifier of the EROS-1 shared features applied to MACHO's (no batch norm:
    # it would need MACHO statistics the source-only model must not see)
    add "$out/shared/source-only/seed$s" "${mlp_source[@]}" --no-batchnorm --seed "$s" \
        --domain "$eros_shared" --domain "$macho_shared,share=eros,k=0,test=0.3"
    # all eight MACHO classes, four of which the source lacks
    add "$out/eight/dvt/k5/seed$s" "${dvt[@]}" --seed "$s" --domain "$eros_all" \
        --domain "$macho8,k=5,test=0.3"
    add "$out/eight/target-only/k5/seed$s" "${mlp[@]}" --seed "$s" --domain "$macho8,k=5,test=0.3"
    add "$out/eight/m2-target/k5/seed$s" "${m2[@]}" --seed "$s" --domain "$macho8,k=5,test=0.3"
done

run_all run-e3
python3 scripts/summarize.py --tree "$out" --class CEPH --class EB --class RRL --class LPV
