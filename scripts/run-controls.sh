#!/usr/bin/env bash
# Issue 19's controls for E2 (../shared/docs/EXPERIMENTS.md): what the generative model adds over
# the same encoder and classifier trained with the same levers, budget and selection.
#   scripts/run-controls.sh [OUT_DIR]          (default runs/controls)
# Rows, MNIST <-> USPS, same space k = 0 and native space k = 1, 3 seeds each:
#   dvt           DVT with the levers of scripts/run-e2.sh
#   dvt-standard  the same with p(z|y) held at N(0, I) (--latent-prior standard): no class mixture
#   self-training the encoder and classifier alone (--preset mlp) with the same levers, the
#                 consistency term at the same ratio to the cross-entropy (weight 1 against
#                 DVT's 1000 with alpha 1000)
#   dann          self-training plus a domain classifier behind a gradient reversal (--preset
#                 dann: domain-adversarial training, the standard domain-adaptation control)
#   source-only   the encoder and classifier on the source labels, class-balanced, same epochs
#   dvt-translate DVT plus cross-domain translation: each step the source's labelled rows, encoded
#                 and decoded by the target's output block, are labelled target rows for the
#                 classifier, weighing as much as the real labelled rows (--translate-weight 1)
#   dvt-generate  DVT plus class-conditional samples of the target domain as labelled rows, the
#                 same weight (--generate-weight 1)
#   dvt-dann      DVT plus DANN's domain classifier (--dann-weight 1): the class-wise alignment
#                 of the mixture and the marginal one of the reversal together
#   dvt-all       DVT with translation, generation and the domain classifier together
# Every run logs the test accuracy of every epoch (--monitor-test, never used for selection) and
# keeps the epoch chosen without labels (--select im): scripts/summarize.py --selection --tree
# OUT_DIR prints, per row, the last epoch, the unsupervised choice and the best epoch (oracle).
# Environment: JOBS (runs at once, default 2), THREADS (per run, default 1), EPOCHS (default 4),
# SEEDS (default "1 2 3"), ONLY (a regular expression on the run folder), DRY=1 (print and stop).
# A run whose metrics.json exists is skipped, so the script can be stopped and started again.
set -euo pipefail
out=${1:-runs/controls}
bin=${GENXFER_BIN:-build/genxfer}
jobs=${JOBS:-2}
threads=${THREADS:-1}
epochs=${EPOCHS:-4}
seeds=${SEEDS:-1 2 3}
only=${ONLY:-.}
framed="resize=20x20,pad=4"   # USPS in MNIST's frame, as in scripts/run-e2.sh
levers=(--epochs "$epochs" --cls-hidden 500 --augment-shift 2 --augment-labelled --cutout 14
        --select im --monitor-test)
dvt=(--preset dvt --kl-warmup 1 --confidence-weight 1000 "${levers[@]}")
dvt_standard=("${dvt[@]}" --latent-prior standard)
self_training=(--preset mlp --confidence-weight 1 "${levers[@]}")
dann=(--preset dann --confidence-weight 1 "${levers[@]}")
source_only=(--preset mlp --class-balance --epochs "$epochs" --cls-hidden 500 --augment-shift 2
             --augment-labelled --monitor-test --select last)

run_opts=(--no-figures)
. "$(dirname "$0")/runs-lib.sh"
setting() { # setting DIR DOMAINS...: every row on one setting
    local dir=$1; shift
    seed_runs "$dir/dvt" "${dvt[@]}" "$@"
    seed_runs "$dir/self-training" "${self_training[@]}" "$@"
    seed_runs "$dir/dvt-standard" "${dvt_standard[@]}" "$@"
    seed_runs "$dir/dann" "${dann[@]}" "$@"
    seed_runs "$dir/dvt-translate" "${dvt[@]}" --translate-weight 1 "$@"
    seed_runs "$dir/dvt-generate" "${dvt[@]}" --generate-weight 1 "$@"
    seed_runs "$dir/dvt-dann" "${dvt[@]}" --dann-weight 1 "$@"
    seed_runs "$dir/dvt-all" "${dvt[@]}" --translate-weight 1 --generate-weight 1 --dann-weight 1 "$@"
}
setting "$out/m2u/same/k0" --domain mnist:train --domain "usps:train,$framed,share=mnist,k=0" \
    --test "usps:test,$framed"
setting "$out/u2m/same/k0" --domain "usps:train,$framed" --domain "mnist:train,share=usps,k=0" \
    --test mnist:test
seed_runs "$out/m2u/source-only" "${source_only[@]}" --domain mnist:train \
    --test "usps:test,$framed"
seed_runs "$out/u2m/source-only" "${source_only[@]}" --domain "usps:train,$framed" \
    --test mnist:test
setting "$out/m2u/native/k1" --domain mnist:train --domain usps:train,k=1 --test usps:test
setting "$out/u2m/native/k1" --domain usps:train --domain mnist:train,k=1 --test mnist:test
# more target labels: DVT and the controls without a generative model (the levers' rows at k = 0/1)
for k in 10 5; do
    for row in dvt self-training dann; do
        case $row in dvt) opts=("${dvt[@]}") ;; self-training) opts=("${self_training[@]}") ;;
                     dann) opts=("${dann[@]}") ;; esac
        seed_runs "$out/m2u/same/k$k/$row" "${opts[@]}" --domain mnist:train \
            --domain "usps:train,$framed,share=mnist,k=$k" --test "usps:test,$framed"
        seed_runs "$out/u2m/same/k$k/$row" "${opts[@]}" --domain "usps:train,$framed" \
            --domain "mnist:train,share=usps,k=$k" --test mnist:test
        seed_runs "$out/m2u/native/k$k/$row" "${opts[@]}" --domain mnist:train \
            --domain "usps:train,k=$k" --test usps:test
        seed_runs "$out/u2m/native/k$k/$row" "${opts[@]}" --domain usps:train \
            --domain "mnist:train,k=$k" --test mnist:test
    done
done

# E1, MNIST with 100 labels (scripts/run-e1.sh's dvt-levers, 15 epochs, the epoch of the best
# validation accuracy on 100 held-out labels per class): self-training and DVT with the prior
# held at N(0, I), beside run-e1.sh's DVT rows.
e1_data=(--domain mnist:train,k=10,val=100 --test mnist:test)
e1_levers=(--epochs 15 --cls-hidden 500 --augment-shift 2 --augment-labelled --cutout 14
           --monitor-test)
seed_runs "$out/e1/self-training" --preset mlp --confidence-weight 1 "${e1_levers[@]}" "${e1_data[@]}"
seed_runs "$out/e1/dvt-standard" --preset dvt --alpha 1000 --kl-warmup 1 --confidence-weight 1000 \
    --latent-prior standard "${e1_levers[@]}" "${e1_data[@]}"

# E3, EROS-1 -> MACHO (scripts/run-e3.sh's settings), 5 seeds (E3_SEEDS): DVT, the same with
# --latent-prior standard, self-training, DANN and source-only with the same class balancing, M2 on
# the target alone; with std-from=eros:period (the period, in days in both surveys, keeps
# EROS-1's scale) for every model that reads both surveys; and the generative levers.
net=(--enc 128,128 --dec 128,128 --z 10 --batch 64 --batch-unlabelled 64 --epochs 150
     --class-balance --select im --monitor-test)
e3_dvt=(--preset dvt "${net[@]}" --kl-warmup 10 --prior reestimate)
e3_m2=(--preset m2 "${net[@]}" --kl-warmup 10 --prior reestimate)
e3_self=(--preset mlp "${net[@]}" --batchnorm --confidence-weight 1)
e3_source=(--preset mlp --enc 128,128 --batch 64 --epochs 30 --class-balance --no-batchnorm
           --monitor-test --select last)
e3_seeds=${E3_SEEDS:-1 2 3 4 5}
e3_runs() { # e3_runs DIR ARGS...
    local dir=$1; shift
    for s in $e3_seeds; do add "$dir/seed$s" "$@" --seed "$s"; done
}
e3="$out/e3"
for period in own eros; do
    from=""; [ $period = eros ] && from=",std-from=eros:period"
    tgt="$macho_shared,share=eros,k=0,test=0.3$from"
    e3_runs "$e3/shared/k0/period-$period/dvt" "${e3_dvt[@]}" --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dvt-standard" "${e3_dvt[@]}" --latent-prior standard \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/self-training" "${e3_self[@]}" --domain "$eros_shared" \
        --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dann" "${e3_self[@]}" --preset dann \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/source-only" "${e3_source[@]}" --domain "$eros_shared" \
        --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dvt-generate" "${e3_dvt[@]}" --generate-weight 1 \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dvt-dann" "${e3_dvt[@]}" --dann-weight 1 \
        --domain "$eros_shared" --domain "$tgt"
    # the label shift estimated by EM after training and corrected (--prior-shift em)
    e3_runs "$e3/shared/k0/period-$period/source-only-em" "${e3_source[@]}" --prior-shift em \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/self-training-em" "${e3_self[@]}" --prior-shift em \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dvt-em" "${e3_dvt[@]}" --prior-shift em \
        --domain "$eros_shared" --domain "$tgt"
    e3_runs "$e3/shared/k0/period-$period/dvt-generate-em" "${e3_dvt[@]}" --generate-weight 1 \
        --prior-shift em --domain "$eros_shared" --domain "$tgt"
done
for k in 1 5 10; do
    tgt="$macho4,k=$k,test=0.3"
    e3_runs "$e3/four/k$k/dvt" "${e3_dvt[@]}" --domain "$eros_all" --domain "$tgt"
    e3_runs "$e3/four/k$k/dvt-standard" "${e3_dvt[@]}" --latent-prior standard \
        --domain "$eros_all" --domain "$tgt"
    e3_runs "$e3/four/k$k/self-training" "${e3_self[@]}" --domain "$eros_all" --domain "$tgt"
    e3_runs "$e3/four/k$k/dann" "${e3_self[@]}" --preset dann --domain "$eros_all" \
        --domain "$tgt"
    e3_runs "$e3/four/k$k/m2-target" "${e3_m2[@]}" --domain "$tgt"
    e3_runs "$e3/four/k$k/dvt-translate" "${e3_dvt[@]}" --translate-weight 1 \
        --domain "$eros_all" --domain "$tgt"
    e3_runs "$e3/four/k$k/dvt-generate" "${e3_dvt[@]}" --generate-weight 1 \
        --domain "$eros_all" --domain "$tgt"
    e3_runs "$e3/four/k$k/dvt-dann" "${e3_dvt[@]}" --dann-weight 1 --domain "$eros_all" \
        --domain "$tgt"
done
# all eight MACHO classes, four of which EROS-1 lacks, 5 labels per class
tgt="$macho8,k=5,test=0.3"
e3_runs "$e3/eight/k5/dvt" "${e3_dvt[@]}" --domain "$eros_all" --domain "$tgt"
e3_runs "$e3/eight/k5/self-training" "${e3_self[@]}" --domain "$eros_all" --domain "$tgt"
e3_runs "$e3/eight/k5/dann" "${e3_self[@]}" --preset dann --domain "$eros_all" --domain "$tgt"
e3_runs "$e3/eight/k5/m2-target" "${e3_m2[@]}" --domain "$tgt"
e3_runs "$e3/eight/k5/dvt-generate" "${e3_dvt[@]}" --generate-weight 1 --domain "$eros_all" \
    --domain "$tgt"

run_all run-controls
python3 scripts/summarize.py --selection --tree "$out"
python3 scripts/summarize.py --tree "$e3" --class CEPH --class EB --class RRL --class LPV
