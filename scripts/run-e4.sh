#!/usr/bin/env bash
# E4 (../shared/docs/EXPERIMENTS.md): transfer to a disjoint target task with a pre-trained
# conditional generator. Split A: Fashion-MNIST source {T-shirt/top, Trouser, Dress, Sandal, Bag},
# target {Pullover, Coat, Shirt, Sneaker, Ankle boot}; split B: MNIST source 0-4, target 5-9.
# The source models (DVT, all source training images labelled) are trained first; everything after
# reads only a source model file and the k labelled target images per class.
#   scripts/run-e4.sh [OUT_DIR]          (default runs/e4)
# Environment: JOBS (runs at once, default 2), THREADS (per run, default 1), SEEDS (default
# "1 2 3"), KS (default "10 50"), SPLITS (default "a b"), ONLY (a regular expression: run only the
# runs whose folder matches), DRY=1 (print the commands and stop), VAL=V (the tuning mode: hold
# out V more labelled images per class as a validation set, report its last-epoch accuracy and
# do not touch the test set; folders under OUT_DIR/val; scored every VAL_EVERY epochs, default 50,
# and after the last), STEPS (training steps of every method,
# whatever k: epochs = STEPS / steps per epoch), MU, PP_SAMPLES, PP_EPOCHS, and the P-SSL loss's
# LAMBDA_U, TAU and PSEUDO_BN (the values of every pssl run).
# PP's pre-training does not depend on the target data: the pp run at the first k pre-trains (per
# split and seed) and every other PP-based run of that split and seed starts from its network
# (--pp-from), as it would have pre-trained it (same seed, same result).
# A run whose metrics.json exists is skipped, so the script can be stopped and started again.
# The summary table is printed at the end (scripts/summarize.py --tree OUT_DIR).
set -euo pipefail
out=${1:-runs/e4}
bin=${GENXFER_BIN:-build/genxfer}
jobs=${JOBS:-2}
threads=${THREADS:-1}
seeds=${SEEDS:-1 2 3}
ks=${KS:-10 50}
splits=${SPLITS:-a b}
only=${ONLY:-.}
val=${VAL:-0}
# The schedule chosen on the validation split of split A, seed 1 (docs/RESULTS.md, E4).
steps=${STEPS:-300}
batch=64
mu=${MU:-7}
pp_samples=${PP_SAMPLES:-10000}
pp_epochs=${PP_EPOCHS:-10}
# lambda_u 0.1: the best of 1, 0.3 and 0.1 on the validation split of both splits
# (scripts/tune-e4.sh; docs/RESULTS.md, E4); genxfer's own default stays FixMatch's 1.
pssl_opts=(--lambda-u "${LAMBDA_U:-0.1}" --tau "${TAU:-0.95}" --pseudo-bn "${PSEUDO_BN:-keep}")

source_classes_a='T-shirt/top+Trouser+Dress+Sandal+Bag'
target_classes_a='Pullover+Coat+Shirt+Sneaker+Ankle boot'
source_spec() { case $1 in a) echo "fashion-mnist:%s,select=$source_classes_a" ;; b) echo "mnist:%s,select=0+1+2+3+4" ;; esac; }
target_spec() { case $1 in a) echo "fashion-mnist:%s,select=$target_classes_a" ;; b) echo "mnist:%s,select=5+6+7+8+9" ;; esac; }
# Clothes keep their class in a mirror, digits do not.
flip() { case $1 in a) echo --augment-flip ;; b) ;; esac; }

# ---- the source models, one per split (seed 1), before anything else ----
for s in $splits; do
    src=$out/source-$s
    [ -f "$src/model.safetensors" ] && continue
    [ "${DRY:-0}" = 1 ] && { echo "(train the source model $src first)"; continue; }
    # shellcheck disable=SC2059
    train_spec=$(printf "$(source_spec "$s")" train) test_spec=$(printf "$(source_spec "$s")" test)
    echo "run-e4: training the source model of split $s in $src" >&2
    mkdir -p "$out"
    "$bin" train --preset dvt --domain "$train_spec,name=source" --test "$test_spec" --epochs 20 \
        --threads "$threads" --seed 1 --quiet --no-figures --out "$src" > "$src.log" 2>&1 &
done
wait

phase1=$(mktemp) phase2=$(mktemp)
trap 'rm -f "$phase1" "$phase2"' EXIT
cur=$phase2
root=$out
[ "$val" -gt 0 ] && root=$out/val
add() { # add DIR SPLIT K SEED COMMAND ARGS...: one run
    local dir=$1 s=$2 k=$3 seed=$4 cmd=$5; shift 5
    [[ $dir =~ $only ]] || return 0
    [ -f "$dir/metrics.json" ] && return 0
    mkdir -p "$(dirname "$dir")"
    local train test
    # shellcheck disable=SC2059
    train=$(printf "$(target_spec "$s")" train) test=$(printf "$(target_spec "$s")" test)
    local -a args=("$bin" "$cmd")
    [ "$cmd" != scratch ] && args+=("$out/source-$s/model.safetensors")
    [ "$cmd" = pssl ] && args+=("${pssl_opts[@]}")
    if [ "$val" -gt 0 ]; then
        args+=(--data "$train,k=$k,val=$val" --val-every "${VAL_EVERY:-50}")
    else
        args+=(--data "$train,k=$k" --test "$test")
    fi
    local per_epoch=$(( (5 * k + batch - 1) / batch )) # 5 target classes, k labels each
    # shellcheck disable=SC2046
    args+=("$@" --epochs $(( (steps + per_epoch - 1) / per_epoch )) --batch "$batch" $(flip "$s")
           --seed "$seed" --threads "$threads" --quiet --out "$dir")
    printf '%q ' "${args[@]}" >> "$cur"
    printf '> %q 2>&1\n' "$dir.log" >> "$cur"
}
first_k=${ks%% *}
pre() { echo "$root/$1/k$first_k/pp/seed$2/pp_pretrained.safetensors"; }
method_runs() { # method_runs SPLIT K: every method, every seed
    local s=$1 k=$2 seed d
    for seed in $seeds; do
        d=$root/$s/k$k
        add "$d/scratch/seed$seed" "$s" "$k" "$seed" scratch
        add "$d/kd/seed$seed" "$s" "$k" "$seed" kd
        if [ "$k" = "$first_k" ]; then # the pre-training, before the runs that start from it
            cur=$phase1
            add "$d/pp/seed$seed" "$s" "$k" "$seed" pp --pp-samples "$pp_samples" \
                --pp-epochs "$pp_epochs"
            cur=$phase2
        else
            add "$d/pp/seed$seed" "$s" "$k" "$seed" pp --pp-from "$(pre "$s" "$seed")"
        fi
        add "$d/pssl/seed$seed" "$s" "$k" "$seed" pssl --mu "$mu"
        add "$d/pp-pssl/seed$seed" "$s" "$k" "$seed" pssl --pp --mu "$mu" \
            --pp-from "$(pre "$s" "$seed")"
    done
}
condition_runs() { # condition_runs SPLIT K: the conditioning of PP + P-SSL (soft is pp-pssl)
    local s=$1 k=$2 seed d c
    for seed in $seeds; do
        d=$root/$s/k$k
        for c in argmax random; do
            add "$d/pp-pssl-$c/seed$seed" "$s" "$k" "$seed" pssl --pp --mu "$mu" \
                --pp-from "$(pre "$s" "$seed")" --condition "$c"
        done
    done
}
pp_samples_runs() { # pp_samples_runs SPLIT K: PP with fewer pseudo samples per epoch
    local s=$1 k=$2 seed d n
    for seed in $seeds; do
        d=$root/$s/k$k
        for n in 1000 2500; do
            add "$d/pp-samples$n/seed$seed" "$s" "$k" "$seed" pp --pp-samples "$n" \
                --pp-epochs "$pp_epochs"
        done
    done
}
# In order of importance (a run stopped half-way can be completed later): the methods at the
# first k on every split, the conditioning ablation, the methods at the other k, then the
# number of PP samples.
for s in $splits; do method_runs "$s" "$first_k"; done
for s in $splits; do condition_runs "$s" "$first_k"; done
for k in $ks; do
    [ "$k" = "$first_k" ] && continue
    for s in $splits; do method_runs "$s" "$k"; done
done
for s in $splits; do pp_samples_runs "$s" "$first_k"; done

if [ "${DRY:-0}" = 1 ]; then cat "$phase1" "$phase2"; exit 0; fi
n=$(cat "$phase1" "$phase2" | wc -l)
echo "run-e4: $n runs to do, $jobs at a time, $threads thread(s) each; logs beside each run folder" >&2
for list in "$phase1" "$phase2"; do
    xargs -d '\n' -P "$jobs" -I{} bash -c '{}' < "$list" ||
        echo "run-e4: some runs failed (see their .log)" >&2
done
if [ "$val" -gt 0 ]; then python3 scripts/summarize.py --val --tree "$root"
else python3 scripts/summarize.py --tree "$root"; fi
