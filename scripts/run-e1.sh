#!/usr/bin/env bash
# E1 (../shared/docs/EXPERIMENTS.md): MNIST with 100 labels, 3 seeds per configuration.
#   scripts/run-e1.sh [OUT_DIR] [CONFIG...]
# CONFIG: m2, dvt, dvt-levers (default: these three), or the lever ablation steps between dvt and
# dvt-levers: dvt-consistency (translations + confident-target consistency), dvt-cutout (+ cutout).
# Each run writes OUT_DIR/CONFIG/seedN/{model.safetensors,metrics.json,train_log.csv}; the summary
# (mean +- std of the test error) is printed at the end. About 6 to 18 minutes per run on 2 cores.
set -euo pipefail
out=${1:-runs/e1}
shift || true
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(m2 dvt dvt-levers)
bin=${GENXFER_BIN:-build/genxfer}
data="mnist:train,k=10,val=100"   # 10 labels per class; 100 per class held out for selection
for c in "${configs[@]}"; do
    case "$c" in
        m2)         opts=(--preset m2 --epochs 10 --lr 3e-4) ;;
        dvt)        opts=(--preset dvt --epochs 15 --alpha 1000 --kl-warmup 1) ;;
        dvt-consistency)
                    opts=(--preset dvt --epochs 15 --alpha 1000 --kl-warmup 1
                          --augment-shift 2 --augment-labelled --confidence-weight 1000) ;;
        dvt-cutout) opts=(--preset dvt --epochs 15 --alpha 1000 --kl-warmup 1
                          --augment-shift 2 --augment-labelled --confidence-weight 1000
                          --cutout 14) ;;
        dvt-levers) opts=(--preset dvt --epochs 15 --alpha 1000 --kl-warmup 1 --cls-hidden 500
                          --augment-shift 2 --augment-labelled --confidence-weight 1000
                          --cutout 14) ;;
        *) echo "run-e1: unknown configuration '$c' (m2, dvt, dvt-consistency, dvt-cutout, dvt-levers)" >&2; exit 2 ;;
    esac
    for s in 1 2 3; do
        "$bin" train --domain "$data" --test mnist:test "${opts[@]}" --seed "$s" --threads 2 \
            --out "$out/$c/seed$s"
    done
done
for c in "${configs[@]}"; do
    printf '%-11s ' "$c"
    python3 scripts/summarize.py "$out/$c"/seed1 "$out/$c"/seed2 "$out/$c"/seed3
done
