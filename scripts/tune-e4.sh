#!/usr/bin/env bash
# The validation search behind E4's P-SSL settings (docs/RESULTS.md, E4): PP + P-SSL at k = 10 on
# both splits, each setting of lambda_u x pseudo-bn (x TAU values), scored by the last-epoch
# accuracy on VAL held-out labelled training images per class. The test set is never read.
#   scripts/tune-e4.sh SOURCE_DIR [OUT_DIR]   (default runs/e4tune)
# SOURCE_DIR holds source-a/ and source-b/ of scripts/run-e4.sh (the source models, trained on the
# source classes only). Environment: VAL (default 100), SEEDS (default 1), LAMBDAS (default
# "1 0.3 0.1"), BNS (default "keep update"), TAUS (default 0.95), JOBS, THREADS, STEPS, MU.
set -euo pipefail
src=${1:?usage: scripts/tune-e4.sh SOURCE_DIR [OUT_DIR]}
out=${2:-runs/e4tune}
export VAL=${VAL:-100} SEEDS=${SEEDS:-1} KS=10
lambdas=${LAMBDAS:-1 0.3 0.1}
bns=${BNS:-keep update}
taus=${TAUS:-0.95}
here=$(cd "$(dirname "$0")" && pwd)
link_sources() { # link_sources DIR: the source models, not trained again
    mkdir -p "$1"
    local s
    for s in a b; do
        [ -e "$1/source-$s" ] || ln -s "$(cd "$src" && pwd)/source-$s" "$1/source-$s"
    done
}
# The baselines and the PP pre-training, once; every setting starts from the same PP network.
base=$out/base
link_sources "$base"
ONLY='/(scratch|kd|pp)/seed' bash "$here/run-e4.sh" "$base"
for tau in $taus; do
    for lu in $lambdas; do
        for bn in $bns; do
            d=$out/lu$lu-$bn-tau$tau
            link_sources "$d"
            for s in a b; do
                mkdir -p "$d/val/$s/k10"
                [ -e "$d/val/$s/k10/pp" ] ||
                    ln -s "$(cd "$base" && pwd)/val/$s/k10/pp" "$d/val/$s/k10/pp"
            done
            echo "tune-e4: lambda_u $lu, pseudo-bn $bn, tau $tau in $d" >&2
            LAMBDA_U=$lu PSEUDO_BN=$bn TAU=$tau ONLY='/pp-pssl/seed' bash "$here/run-e4.sh" "$d"
        done
    done
done
