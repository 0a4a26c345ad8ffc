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
data=${GENXFER_DATA:-../shared/data}/stars

# EROS-1: the physically meaningful columns (no ids, patches or coordinates); heavy tails in log10;
# classes named as MACHO's files name them (type 4, Mira, is MACHO's long-period variable).
eros_base="csv:$data/eros1/train.csv,label=type,id=Unnamed: 0,rename=1:EB+2:CEPH+3:RRL+4:LPV"
eros_all="$eros_base,keep=magnitude_b+magnitude_r+period+asym_b+asym_r+log_p_not_variable+sigma_flux_b+sigma_flux_r,log10=period+sigma_flux_b+sigma_flux_r,name=eros"
# the features both surveys have, in the same order: magnitude, colour, log period
eros_shared="$eros_base,diff=color:magnitude_b-magnitude_r,keep=magnitude_r+color+period,log10=period,name=eros"
# MACHO: headerless (mean magnitude, B-R colour, period in days, an amplitude-like 4th column)
macho_cols="header=no,columns=mag+color+period+amp"
macho4="csv:$data/macho,$macho_cols,files=EB+CEPH+RRL+longperiod_lc,rename=longperiod_lc:LPV,log10=period+amp,name=macho"
macho8="csv:$data/macho,$macho_cols,rename=longperiod_lc:LPV+non_variables_1:non_variable+non_variables_2:non_variable+non_variables_3:non_variable,log10=period+amp,missing=drop,name=macho"
macho_shared="csv:$data/macho,$macho_cols,files=EB+CEPH+RRL+longperiod_lc,rename=longperiod_lc:LPV,keep=mag+color+period,log10=period,name=macho"

net=(--enc 128,128 --dec 128,128 --z 10 --batch 64 --batch-unlabelled 64)
dvt=(--preset dvt "${net[@]}" --epochs 150 --kl-warmup 10 --class-balance --prior reestimate)
mlp=(--preset mlp --enc 128,128 --batch 64 --epochs 300)   # target-only: k rows per class, one step an epoch
mlp_source=(--preset mlp --enc 128,128 --batch 64 --epochs 30)
m2=(--preset m2 "${net[@]}" --epochs 150 --kl-warmup 10 --class-balance --prior reestimate)

list=$(mktemp)
trap 'rm -f "$list"' EXIT
add() { # add DIR ARGS...
    local dir=$1; shift
    [[ $dir =~ $only ]] || return 0
    [ -f "$dir/metrics.json" ] && return 0
    mkdir -p "$(dirname "$dir")"
    printf '%q ' "$bin" train "$@" --threads "$threads" --quiet --out "$dir" >> "$list"
    printf '> %q 2>&1\n' "$dir.log" >> "$list"
}

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

if [ "${DRY:-0}" = 1 ]; then cat "$list"; exit 0; fi
n=$(wc -l < "$list")
echo "run-e3: $n runs to do, $jobs at a time, $threads thread(s) each; logs beside each run folder" >&2
xargs -d '\n' -P "$jobs" -I{} bash -c '{}' < "$list" || echo "run-e3: some runs failed (see their .log)" >&2
python3 scripts/summarize.py --tree "$out" --class CEPH --class EB --class RRL --class LPV
