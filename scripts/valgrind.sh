#!/usr/bin/env bash
# `make valgrind`: a short train / eval / predict cycle of the tool under valgrind memcheck, a CNN
# trained by `scratch`, plus a run stopped by SIGTERM and resumed from its checkpoint, on small
# generated CSVs. Every command must end with no memory error and no leak (definite, indirect or
# possible): --error-exitcode=1.
# With OpenMP and OpenBLAS at 1 or 2 threads, memcheck reports nothing of theirs beyond "still
# reachable" blocks (thread pools alive at exit), which are not leaks and not errors. The one
# suppression file, scripts/valgrind.supp, covers blocks that libfontconfig allocates and loses
# itself while cairo draws a figure's text (nothing allocated by genxfer).
#   scripts/valgrind.sh [BIN]     (default build/genxfer)
set -u
bin=${1:-build/genxfer}
command -v valgrind > /dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 1; }
[ -x "$bin" ] || { echo "valgrind: $bin not built (make)"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/genxfer-valgrind-XXXXXX")
trap 'rm -rf "$dir"' EXIT
vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1
    --suppressions="$(dirname "$0")/valgrind.supp")

# 150 rows, 6 features, 3 classes: class k is 3 higher on features j with j % 3 == k.
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,y";
             for (i = 0; i < 150; i++) { k = i % 3; line = "";
                 for (j = 0; j < 6; j++) line = line sprintf("%.4f,", (j % 3 == k ? 3 : 0) + 2 * (rand() + rand() - 1));
                 print line "c" k } }' > "$dir/toy.csv"
spec="csv:$dir/toy.csv,label=y"
# The same with 16 features, read as 4x4 images, for the CNN of `genxfer scratch` (a direct first
# convolution, a GEMM one, batch norm + ReLU + pooling fused in training and unfused in evaluation).
awk 'BEGIN { srand(8); print "p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11,p12,p13,p14,p15,y";
             for (i = 0; i < 150; i++) { k = i % 3; line = "";
                 for (j = 0; j < 16; j++) line = line sprintf("%.4f,", (j % 3 == k ? 0.6 : 0) + 0.4 * rand());
                 print line "c" k } }' > "$dir/img.csv"
img="csv:$dir/img.csv,label=y,image=4x4"
model="--preset dvt --enc 16,8 --dec 8 --z 2 --batch 10 --batch-unlabelled 10 --quiet"
failed=0
check() { # NAME STATUS EXPECTED
    if [ "$2" -ne "$3" ]; then echo "valgrind: $1: exit $2 (expected $3)"; failed=1
    else echo "valgrind: $1: clean"; fi
}

start=$(date +%s)
"${vg[@]}" "$bin" train $model --domain "$spec,k=5,val=5" --epochs 2 --threads 2 --out "$dir/run" > /dev/null
check "train (2 threads)" $? 0
"${vg[@]}" "$bin" scratch --data "$img,k=5" --test "$img" --arch conv4-bn-relu-pool,conv8-bn-relu-pool,fc \
    --epochs 3 --batch 8 --threads 2 --quiet --out "$dir/cnn" > /dev/null
check "scratch, a CNN (2 threads)" $? 0
"${vg[@]}" "$bin" eval "$dir/run/model.safetensors" "$spec" --threads 1 > /dev/null
check eval $? 0
"${vg[@]}" "$bin" predict "$dir/run/model.safetensors" "$spec" --threads 1 --out "$dir/pred.csv" > /dev/null
check predict $? 0
# stopped by SIGTERM once its first checkpoint exists (exit 143), then resumed to the end
"${vg[@]}" "$bin" train $model --domain "$spec,k=5,val=5" --epochs 40 --threads 1 --out "$dir/stop" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$dir/stop/checkpoint.safetensors" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
check "train stopped by SIGTERM" $? 143
"${vg[@]}" "$bin" train --resume "$dir/stop" --checkpoint-every 0 --quiet > /dev/null
check "train --resume" $? 0
echo "valgrind: $(( $(date +%s) - start )) s"
exit $failed
