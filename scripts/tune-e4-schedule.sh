#!/usr/bin/env bash
# A second validation search for E4 (docs/RESULTS.md, E4): is the shared schedule (300 Adam steps,
# lr 1e-3) holding back scratch or PP, and does PP gain from a longer pre-training? At k = 10 on
# both splits, seeds 1-3, each run scored on VAL held-out labelled training images per class (the
# test set is never read):
#   scratch and PP (fine-tuning from the pre-trained network of the first E4 pass) at lr 1e-4,
#   3e-4, 1e-3, 3e-3 for 300 steps and lr 1e-3 for 1000 steps; PP + P-SSL (lambda_u 0.1) at the
#   shared schedule and with tau 0.99; scratch, PP and PP + P-SSL at lr 1e-3 for each of LONG steps
#   (default 1000); PP pre-trained for 30 epochs instead of 10; and two diagnostics of P-SSL,
#   PP + FixMatch on real unlabelled images instead of pseudo samples: the source classes' own
#   training images (what a perfect G_s would give; they read source data, so they are not the
#   method) and the target rows left unlabelled (--unlabelled rest, plain SSL, at lambda_u 0.1
#   and 1).
#   scripts/tune-e4-schedule.sh E4_DIR [OUT_DIR]      (default runs/e4lr)
# E4_DIR is a finished scripts/run-e4.sh folder: its source models and its PP pre-trained networks
# (a/k10/pp/seedN/pp_pretrained.safetensors; they do not depend on the target data). Environment:
# VAL (default 500), SEEDS (default "1 2 3"), SPLITS (default "a b"), LONG (default 1000), JOBS
# (default 2). Then:
#   python3 scripts/summarize.py --val --tree OUT_DIR
set -euo pipefail
e4=${1:?usage: scripts/tune-e4-schedule.sh E4_DIR [OUT_DIR]}
out=${2:-runs/e4lr}
bin=${GENXFER_BIN:-build/genxfer}
val=${VAL:-500}
seeds=${SEEDS:-1 2 3}
jobs=${JOBS:-2}
splits=${SPLITS:-a b}
long=${LONG:-1000}
cmds=$(mktemp)
trap 'rm -f "$cmds"' EXIT
add() { # add DIR ARGS...: one run unless its metrics.json exists
    local dir=$1; shift
    [ -f "$dir/metrics.json" ] && return 0
    mkdir -p "$(dirname "$dir")"
    printf '%q ' "$bin" "$@" --val-every 50 --batch 64 --threads 1 --quiet --out "$dir" >> "$cmds"
    printf '> %q 2>&1\n' "$dir.log" >> "$cmds"
}
for s in $splits; do
    case $s in
    a) data='fashion-mnist:train,select=Pullover+Coat+Shirt+Sneaker+Ankle boot' flip=(--augment-flip)
       source_data='fashion-mnist:train,select=T-shirt/top+Trouser+Dress+Sandal+Bag' ;;
    b) data='mnist:train,select=5+6+7+8+9' flip=() source_data='mnist:train,select=0+1+2+3+4' ;;
    esac
    src=$e4/source-$s/model.safetensors
    for seed in $seeds; do
        pre=$e4/$s/k10/pp/seed$seed/pp_pretrained.safetensors
        common=(--data "$data,k=10,val=$val" "${flip[@]}" --seed "$seed")
        cfgs=("1e-4 300" "3e-4 300" "1e-3 300" "3e-3 300")
        for steps in $long; do cfgs+=("1e-3 $steps"); done
        for cfg in "${cfgs[@]}"; do
            read -r lr steps <<< "$cfg"
            add "$out/$s/scratch-lr$lr-steps$steps/seed$seed" scratch "${common[@]}" --lr "$lr" --epochs "$steps"
            add "$out/$s/pp-lr$lr-steps$steps/seed$seed" pp "$src" --pp-from "$pre" "${common[@]}" \
                --lr "$lr" --epochs "$steps"
        done
        add "$out/$s/pp-pssl-lr1e-3-steps300/seed$seed" pssl "$src" --pp --pp-from "$pre" \
            --lambda-u 0.1 --mu 7 "${common[@]}" --epochs 300
        for steps in $long; do
            add "$out/$s/pp-pssl-lr1e-3-steps$steps/seed$seed" pssl "$src" --pp --pp-from "$pre" \
                --lambda-u 0.1 --mu 7 "${common[@]}" --epochs "$steps"
        done
        add "$out/$s/pp-pssl-tau0.99/seed$seed" pssl "$src" --pp --pp-from "$pre" \
            --lambda-u 0.1 --mu 7 --tau 0.99 "${common[@]}" --epochs 300
        for u in "source 0.1" "rest 0.1" "rest 1"; do
            read -r what lu <<< "$u"
            [ "$what" = source ] && what=$source_data
            add "$out/$s/pp-fixmatch-${u% *}-lu${u#* }/seed$seed" pssl "$src" --pp --pp-from "$pre" \
                --unlabelled "$what" --lambda-u "$lu" --mu 7 "${common[@]}" --epochs 300
        done
        add "$out/$s/pp-ppepochs30/seed$seed" pp "$src" --pp-epochs 30 "${common[@]}" --epochs 300
    done
done
echo "tune-e4-schedule: $(wc -l < "$cmds") runs to do, $jobs at a time" >&2
xargs -d '\n' -P "$jobs" -I{} bash -c '{}' < "$cmds" || echo "tune-e4-schedule: some runs failed (see their .log)" >&2
python3 scripts/summarize.py --val --tree "$out"
