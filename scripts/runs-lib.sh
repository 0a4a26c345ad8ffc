# Sourced by scripts/run-e2.sh, run-e3.sh and run-controls.sh: the list of training runs to do,
# run two at a time, and the specs of the star surveys of E3.
# The caller sets bin, threads, only (a regular expression on the run folder), seeds, jobs, and
# run_opts (an array of options every run gets, may be empty).
list=$(mktemp)
trap 'rm -f "$list"' EXIT

add() { # add DIR ARGS...: one training run, unless ONLY leaves it out or it is done
    local dir=$1; shift
    [[ $dir =~ $only ]] || return 0
    [ -f "$dir/metrics.json" ] && return 0
    mkdir -p "$(dirname "$dir")"
    printf '%q ' "$bin" train "$@" --threads "$threads" --quiet "${run_opts[@]}" --out "$dir" >> "$list"
    printf '> %q 2>&1\n' "$dir.log" >> "$list"
}

seed_runs() { # seed_runs DIR ARGS...: the run for every seed
    local dir=$1; shift
    for s in $seeds; do add "$dir/seed$s" "$@" --seed "$s"; done
}

run_all() { # run_all NAME: the listed runs, $jobs at a time (DRY=1: print them and exit)
    if [ "${DRY:-0}" = 1 ]; then cat "$list"; exit 0; fi
    local n
    n=$(wc -l < "$list")
    echo "$1: $n runs to do, $jobs at a time, $threads thread(s) each; logs beside each run folder" >&2
    xargs -d '\n' -P "$jobs" -I{} bash -c '{}' < "$list" || echo "$1: some runs failed (see their .log)" >&2
}

# E3's surveys. EROS-1: the physically meaningful columns (no ids, patches or coordinates); heavy
# tails in log10; classes named as MACHO's files name them (type 4, Mira, is MACHO's long-period
# variable).
stars=${GENXFER_DATA:-../shared/data}/stars
eros_base="csv:$stars/eros1/train.csv,label=type,id=Unnamed: 0,rename=1:EB+2:CEPH+3:RRL+4:LPV"
eros_all="$eros_base,keep=magnitude_b+magnitude_r+period+asym_b+asym_r+log_p_not_variable+sigma_flux_b+sigma_flux_r,log10=period+sigma_flux_b+sigma_flux_r,name=eros"
# the features both surveys have, in the same order: magnitude, colour, log period
eros_shared="$eros_base,diff=color:magnitude_b-magnitude_r,keep=magnitude_r+color+period,log10=period,name=eros"
# MACHO: headerless (mean magnitude, B-R colour, period in days, an amplitude-like 4th column)
macho_cols="header=no,columns=mag+color+period+amp"
macho4="csv:$stars/macho,$macho_cols,files=EB+CEPH+RRL+longperiod_lc,rename=longperiod_lc:LPV,log10=period+amp,name=macho"
macho8="csv:$stars/macho,$macho_cols,rename=longperiod_lc:LPV+non_variables_1:non_variable+non_variables_2:non_variable+non_variables_3:non_variable,log10=period+amp,missing=drop,name=macho"
macho_shared="csv:$stars/macho,$macho_cols,files=EB+CEPH+RRL+longperiod_lc,rename=longperiod_lc:LPV,keep=mag+color+period,log10=period,name=macho"
