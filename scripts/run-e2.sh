#!/usr/bin/env bash
# E2 (../shared/docs/EXPERIMENTS.md): MNIST <-> USPS, same-space and native-space variants, DVT and
# the baselines (source-only, target-only, M2 on the target alone), 3 seeds each.
#   scripts/run-e2.sh [OUT_DIR]          (default runs/e2)
# Environment: JOBS (runs at once, default 2), THREADS (per run, default 1), EPOCHS (DVT, default 4),
# SEEDS (default "1 2 3"), ONLY (a regular expression: run only the runs whose folder matches),
# DRY=1 (print the commands and stop).
# A run whose metrics.json exists is skipped, so the script can be stopped and started again.
# The summary table is printed at the end (scripts/summarize.py --tree OUT_DIR).
set -euo pipefail
out=${1:-runs/e2}
bin=${GENXFER_BIN:-build/genxfer}
jobs=${JOBS:-2}
threads=${THREADS:-1}
epochs=${EPOCHS:-4}
seeds=${SEEDS:-1 2 3}
only=${ONLY:-.}
framed="resize=20x20,pad=4"   # USPS in MNIST's frame: 16x16 -> 20x20, centred in 28x28
# DVT with the levers chosen on E1's validation split (not tuned on E2).
dvt=(--preset dvt --epochs "$epochs" --kl-warmup 1 --cls-hidden 500 --augment-shift 2
     --augment-labelled --confidence-weight 1000 --cutout 14)
mlp_source=(--preset mlp --epochs 10)
mlp_target=(--preset mlp --epochs 300)  # a few labelled rows per class: one step per epoch
m2=(--preset m2 --lr 3e-4)

run_opts=()
. "$(dirname "$0")/runs-lib.sh"
# Settings in order of importance (a run stopped half-way can be completed later), seeds inside.
# MNIST -> USPS and USPS -> MNIST, no target labels (same space only)
seed_runs "$out/m2u/source-only" "${mlp_source[@]}" --domain mnist:train --test "usps:test,$framed"
seed_runs "$out/m2u/same/dvt/k0" "${dvt[@]}" --domain mnist:train \
    --domain "usps:train,$framed,share=mnist,k=0" --test "usps:test,$framed"
seed_runs "$out/u2m/source-only" "${mlp_source[@]}" --domain "usps:train,$framed" --test mnist:test
seed_runs "$out/u2m/same/dvt/k0" "${dvt[@]}" --domain "usps:train,$framed" \
    --domain "mnist:train,share=usps,k=0" --test mnist:test
# the target-only baselines (cheap)
for k in 1 5 10; do
    seed_runs "$out/m2u/same/target-only/k$k" "${mlp_target[@]}" \
        --domain "usps:train,$framed,k=$k" --test "usps:test,$framed"
    seed_runs "$out/m2u/native/target-only/k$k" "${mlp_target[@]}" --domain "usps:train,k=$k" \
        --test usps:test
    seed_runs "$out/u2m/target-only/k$k" "${mlp_target[@]}" --domain "mnist:train,k=$k" \
        --test mnist:test
done
# k target labels per class
for k in 10 1 5; do
    seed_runs "$out/m2u/same/dvt/k$k" "${dvt[@]}" --domain mnist:train \
        --domain "usps:train,$framed,share=mnist,k=$k" --test "usps:test,$framed"
    seed_runs "$out/m2u/native/dvt/k$k" "${dvt[@]}" --domain mnist:train \
        --domain "usps:train,k=$k" --test usps:test
    seed_runs "$out/m2u/m2-target/k$k" "${m2[@]}" --epochs 20 --domain "usps:train,k=$k" \
        --test usps:test
done
for k in 10 1 5; do
    seed_runs "$out/u2m/same/dvt/k$k" "${dvt[@]}" --domain "usps:train,$framed" \
        --domain "mnist:train,share=usps,k=$k" --test mnist:test
    seed_runs "$out/u2m/native/dvt/k$k" "${dvt[@]}" --domain usps:train \
        --domain "mnist:train,k=$k" --test mnist:test
    seed_runs "$out/u2m/m2-target/k$k" "${m2[@]}" --epochs 3 --domain "mnist:train,k=$k" \
        --test mnist:test
done

# What each lever gives: MNIST -> USPS same space, k = 0, the DVT configuration above with one
# lever removed (or one added), same seeds.
lever_runs() { # lever_runs NAME ARGS...: the k = 0 run with extra or replaced options
    local name=$1; shift
    seed_runs "$out/m2u/same/levers/$name" "$@" --domain mnist:train \
        --domain "usps:train,$framed,share=mnist,k=0" --test "usps:test,$framed"
}
dvt_without() { # prints the DVT options without the option $1 (and its value when $2 = 1)
    local skip=$1 has_value=$2 i=0 a
    local -a args=("${dvt[@]}")
    while [ $i -lt ${#args[@]} ]; do
        a=${args[$i]}
        if [ "$a" = "$skip" ]; then i=$((i + 1 + has_value)); continue; fi
        printf '%s\n' "$a"; i=$((i + 1))
    done
}
mapfile -t no_consistency < <(dvt_without --confidence-weight 1)
mapfile -t no_cutout < <(dvt_without --cutout 1)
mapfile -t no_aug_labelled < <(dvt_without --augment-labelled 0)
lever_runs no-consistency "${no_consistency[@]}"
lever_runs no-batchnorm "${dvt[@]}" --no-batchnorm
lever_runs prior-reestimate "${dvt[@]}" --prior reestimate
lever_runs no-cutout "${no_cutout[@]}"
lever_runs no-augment-labelled "${no_aug_labelled[@]}"

run_all run-e2
python3 scripts/summarize.py --tree "$out"
