#!/usr/bin/env bash
# Trains the emotion net on a lent GPU machine (the workplace's `device` tool), with this
# project's own trainer. Unpacks .device/ (made here by scripts/device/pack.sh), builds a
# `moodtunes` that has only `train` against the machine's PyTorch, measures the speed, sizes
# --epochs so the runs end within MINUTES (fractions allowed), and trains into RUN_DIR.
# Several runs separated by `--and` train side by side on the one GPU (a small net leaves most
# of it idle): each is timed while the others run, and each gets its own epoch count.
# `--swa-epochs N%` makes the weight-averaging phase N% of the epochs the run is given.
# If $OUT is set (the device tool's output folder) the run is copied there in pieces under its
# 16 MiB-per-file limit: best.mtm, checkpoint.pt.part-*, run.tar (logs, metrics, plots); with
# several runs only <run>-best.mtm and <run>.tar each (the checkpoints do not fit the limits).
# Training runs with --device cuda unless the options name a device. In the options, `@data/`
# stands for the folder the packs are unpacked in: `--mix @data/realfaces/train --extra-val
# @data/realfaces/val` trains on FER-2013 and realfaces/train (when pack.sh packed realfaces).
#
# usage: scripts/device/train-gpu.sh MINUTES RUN_DIR [moodtunes train options except --epochs/-o]
#                                    [--and RUN_DIR [options]]...
# env:   MOODTUNES_EPOCHS (skips the speed measurement), MOODTUNES_MAX_EPOCHS (default 400),
#        MOODTUNES_DEVICE_WORK (scratch folder, default /tmp/moodtunes-device),
#        MOODTUNES_TORCH_INCLUDE / MOODTUNES_TORCH_LIB to use a LibTorch other than python3's
#        (e.g. Debian's, to try this script on a CPU machine with --device cpu).
set -euo pipefail
minutes=$1
shift
# Each run: its folder, then its options as one shell-quoted string.
run_dirs=() run_opts=()
while (($#)); do
  run_dirs+=("$1")
  shift
  opts=()
  while (($#)) && [[ $1 != --and ]]; do opts+=("$1"); shift; done
  (($#)) && shift  # the --and
  [[ " ${opts[*]} " == *" --device "* ]] || opts+=(--device cuda)
  run_opts+=("$(printf '%q ' "${opts[@]}")")
done
((${#run_dirs[@]})) || { echo "usage: train-gpu.sh MINUTES RUN_DIR [options] [--and RUN_DIR [options]]..." >&2; exit 2; }
deadline_s=$(awk -v m="$minutes" 'BEGIN {printf "%d", m * 60}')
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=${MOODTUNES_DEVICE_WORK:-/tmp/moodtunes-device}
t0=$(date +%s)
log() { echo "[train-gpu +$(($(date +%s) - t0))s] $*"; }
mkdir -p "$work/obj" "${run_dirs[@]}"
untar=()
for pack in fer2013 realfaces; do
  [[ -f .device/$pack.tar.xz ]] || continue
  tar -C "$work" -xJf ".device/$pack.tar.xz" &
  untar+=($!)
done
tar -C "$work" -xJf .device/sysroot.tar.xz
sys=$work/sysroot

if [[ -n ${MOODTUNES_TORCH_LIB:-} ]]; then
  read -r -a torch_include <<<"$MOODTUNES_TORCH_INCLUDE"
  torch_lib=$MOODTUNES_TORCH_LIB
  abi=1
else
  read -r torch abi cuda < <(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.version.cuda)')
  torch_include=("$torch/include" "$torch/include/torch/csrc/api/include")
  torch_lib=$torch/lib
  log "PyTorch at $torch (CUDA $cuda, C++11 ABI $abi)"
  # The carried Debian libraries use the C++11 std::string ABI; an old-ABI LibTorch cannot link with them.
  [[ $abi == 1 ]] || { echo "train-gpu.sh: this PyTorch uses the pre-C++11 ABI; the packed libraries need the C++11 one" >&2; exit 1; }
fi
log "$(g++ --version | head -1); $(nproc) cores"

flags=(-std=c++20 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI="$abi" -DMOODTUNES_WITH_TORCH=1 -DMOODTUNES_TRAINER_ONLY=1
       -DMOODTUNES_NO_SUGGEST=1 "-DMOODTUNES_SOURCE_DIR=\"$root\"" -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB
       -DSPDLOG_FMT_EXTERNAL -DFMT_SHARED -I"$root/src" -isystem "$sys/include" -isystem "$sys/include/opencv4")
for dir in "${torch_include[@]}"; do flags+=(-isystem "$dir"); done
sources=(core/emotion.cpp preprocess/preprocess.cpp data/fer_dataset.cpp model/arch.cpp model/model_file.cpp model/slim.cpp
         model/metrics.cpp model/plots.cpp train/trainer.cpp train/net.cpp train/augment.cpp train/teacher_targets.cpp train/weight_average.cpp
         train/batch_norm.cpp train/checkpoint.cpp train/thread_governor.cpp train/multi_tensor_adamw.cpp train/pause_clock.cpp cli/cmd_train.cpp cli/cmd_stubs.cpp cli/main.cpp)
pids=()
for src in "${sources[@]}"; do
  g++ "${flags[@]}" -c "$root/src/$src" -o "$work/obj/${src//\//_}.o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
torch_libs=(-ltorch_cpu -lc10)
# CUDA kernels register themselves when libtorch_cuda loads: keep it although nothing names it.
[[ -e $torch_lib/libtorch_cuda.so ]] && torch_libs=(-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed -ltorch_cpu -lc10_cuda -lc10)
# A stub stands in for a library OpenCV links but the trainer never calls, only where this
# machine lacks the real one (a stub in front of a real BLAS would compute zeros silently).
rm -rf "$work/stubs-used" && mkdir -p "$work/stubs-used"
installed=$(ldconfig -p 2>/dev/null || true)
for stub in "$sys"/stubs/*; do
  grep -q "^[[:space:]]*${stub##*/} " <<<"$installed" || ln -sf "$stub" "$work/stubs-used/"
done
log "stubbed here: $(ls "$work/stubs-used" | tr '\n' ' ')"
g++ "$work"/obj/*.o -o "$work/moodtunes" -L"$sys/lib" -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lspdlog -lfmt \
  -L"$torch_lib" "${torch_libs[@]}" -pthread -Wl,--allow-shlib-undefined -Wl,-rpath-link,"$sys/lib:$work/stubs-used:$torch_lib"
export LD_LIBRARY_PATH=$sys/lib:$work/stubs-used:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
for pid in "${untar[@]}"; do wait "$pid"; done
log "built $work/moodtunes; data unpacked"

data=(--train "$work/fer2013/train" --val "$work/fer2013/val")
# The options of run k (NUL-separated), with `--swa-epochs N%` resolved against EPOCHS; without
# EPOCHS (the one-epoch calibration) a share is left out.
options_of() {
  local k=$1 epochs=${2:-} out=() o
  eval "local opts=(${run_opts[$k]})"
  for ((i = 0; i < ${#opts[@]}; ++i)); do
    o=${opts[i]/#@data\//$work/}
    if [[ $o == --swa-epochs && ${opts[i + 1]:-} == *% ]]; then
      ((++i))
      [[ -n $epochs ]] || continue
      out+=("$o" "$(awk -v e="$epochs" -v p="${opts[i]%\%}" 'BEGIN {n = int(e * p / 100 + 0.5); print (n < 1 ? 1 : n)}')")
    else
      out+=("$o")
    fi
  done
  printf '%s\0' "${out[@]}"
}
n_runs=${#run_dirs[@]}
epochs=()
if [[ -n ${MOODTUNES_EPOCHS:-} ]]; then
  for ((k = 0; k < n_runs; ++k)); do epochs[k]=$MOODTUNES_EPOCHS; done
else
  # Speed over one epoch, all runs at once, from each one's last two progress lines: each line's
  # img/s averages from the epoch's start, which holds seconds of cuDNN autotuning (the first try
  # here read 1,469 img/s against 6,392 steady); the difference of the two lines leaves that out.
  pids=()
  for ((k = 0; k < n_runs; ++k)); do
    mapfile -d '' -t opts < <(options_of "$k")
    "$work/moodtunes" train "${data[@]}" -o "$work/calibration-$k" --epochs 1 "${opts[@]}" 2>"$work/calibration-$k.log" &
    pids+=($!)
  done
  for ((k = 0; k < n_runs; ++k)); do
    wait "${pids[k]}" || { cat "$work/calibration-$k.log"; exit 1; }
  done
  left=$((t0 + deadline_s - $(date +%s) - 30))  # 30 s: loading and shipping the runs
  for ((k = 0; k < n_runs; ++k)); do
    log="$work/calibration-$k.log"
    cp "$log" "${run_dirs[k]}/calibration.log"  # only this call's measurement goes with the run
    grep -q 'img/s' "$log" || { cat "$log"; echo "train-gpu.sh: no progress lines to time" >&2; exit 1; }
    batch=$(sed -n 's/.*steps\/epoch of \([0-9]*\).*/\1/p' "$log" | head -1)
    # Faces an epoch, --mix and its repeats included.
    train_images=$(($(sed -n 's/.* \([0-9]*\) steps\/epoch of .*/\1/p' "$log" | head -1) * batch))
    ips=$(grep -o '\] [0-9]*/[0-9]* .* [0-9.]* img/s' "$log" | tail -2 |
          awk -v b="$batch" '{split($2, s, "/"); for (i = 1; i <= NF; ++i) if ($(i + 1) == "img/s") r = $i;
                              k[NR] = s[1]; t[NR] = s[1] * b / r}
                             END {print (NR == 2 && t[2] > t[1]) ? (k[2] - k[1]) * b / (t[2] - t[1]) : r}')
    epochs[k]=$(python3 -c "print(max(1, min(${MOODTUNES_MAX_EPOCHS:-400}, int($left / ($train_images / $ips * 1.1 + 2)))))")
    log "calibration of ${run_dirs[k]}: $ips img/s beside the other runs; $left s left: ${epochs[k]} epochs"
  done
fi
left=$((t0 + deadline_s - $(date +%s) - 30))
(( left >= 60 )) || { log "only $left s left: not starting a run"; exit 1; }
pids=()
for ((k = 0; k < n_runs; ++k)); do
  mapfile -d '' -t opts < <(options_of "$k" "${epochs[k]}")
  log "run ${run_dirs[k]}: --epochs ${epochs[k]} ${opts[*]}"
  timeout --signal=INT $((left + 20)) "$work/moodtunes" train "${data[@]}" -o "${run_dirs[k]}" --epochs "${epochs[k]}" "${opts[@]}" \
    >"${run_dirs[k]}/train.log" 2>&1 &
  pids+=($!)
done
for ((k = 0; k < n_runs; ++k)); do
  wait "${pids[k]}" || log "${run_dirs[k]}: the trainer stopped early (exit $?): the run folder holds the last finished epoch"
  tail -3 "${run_dirs[k]}/train.log"
done
if [[ -n ${OUT:-} ]]; then
  if ((n_runs == 1)); then
    run=${run_dirs[0]}
    cp "$run/best.mtm" "$OUT/" || true
    tar -C "$run" -cf "$OUT/run.tar" --exclude='checkpoint.pt*' --exclude=best.mtm .
    # The device tool returns at most 64 MiB in all: with a weight-averaging run (swa.mtm in
    # run.tar, the average's state in the checkpoint) the checkpoint does not fit beside the models.
    shipped=$(du -cb "$OUT"/* | tail -1 | cut -f1)
    if [[ -f $run/checkpoint.pt ]]; then
      if (($(stat -c %s "$run/checkpoint.pt") + shipped <= 60 * 1024 * 1024)); then
        split -b 15M -d "$run/checkpoint.pt" "$OUT/checkpoint.pt.part-"
      else
        log "checkpoint.pt left on the device: it does not fit the 64 MiB the device tool returns"
      fi
    fi
  else
    for run in "${run_dirs[@]}"; do
      name=$(basename "$run")
      cp "$run/best.mtm" "$OUT/$name-best.mtm" || true
      tar -C "$run" -cf "$OUT/$name.tar" --exclude='checkpoint.pt*' --exclude='*.mtm' .
    done
  fi
  log "shipped: $(ls "$OUT" | tr '\n' ' ')"
fi
