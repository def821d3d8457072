#!/usr/bin/env bash
# Trains the emotion net on a lent GPU machine (the workplace's `device` tool), with this
# project's own trainer. Unpacks .device/ (made here by scripts/device/pack.sh), builds a
# `moodtunes` that has only `train` against the machine's PyTorch, measures the speed, sizes
# --epochs so the run ends within MINUTES, and trains into RUN_DIR.
# If $OUT is set (the device tool's output folder) the run is copied there in pieces under its
# 16 MB-per-file limit: best.mtm, checkpoint.pt.part-*, run.tar (logs, metrics, plots).
#
# usage: scripts/device/train-gpu.sh MINUTES RUN_DIR [moodtunes train options except --epochs/-o]
# env:   MOODTUNES_EPOCHS (skips the speed measurement), MOODTUNES_MAX_EPOCHS (default 400); MOODTUNES_TORCH_INCLUDE / MOODTUNES_TORCH_LIB to use
#        a LibTorch other than python3's (e.g. Debian's, to try this script on a CPU machine).
set -euo pipefail
minutes=$1 run=$2
shift 2
root=$PWD
work=${MOODTUNES_DEVICE_WORK:-/tmp/moodtunes-device}
t0=$(date +%s)
log() { echo "[train-gpu +$(($(date +%s) - t0))s] $*"; }
mkdir -p "$work/obj" "$run"
tar -C "$work" -xJf .device/fer2013.tar.xz &
untar=$!
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
fi
log "$(g++ --version | head -1); $(nproc) cores"

flags=(-std=c++20 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI="$abi" -DMOODTUNES_WITH_TORCH=1 -DMOODTUNES_TRAINER_ONLY=1
       -DMOODTUNES_NO_SUGGEST=1 "-DMOODTUNES_SOURCE_DIR=\"$root\"" -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB
       -DSPDLOG_FMT_EXTERNAL -DFMT_SHARED -I"$root/src" -isystem "$sys/include" -isystem "$sys/include/opencv4")
for dir in "${torch_include[@]}"; do flags+=(-isystem "$dir"); done
sources=(core/emotion.cpp core/preprocess.cpp data/fer_dataset.cpp model/arch.cpp model/model_file.cpp
         model/metrics.cpp model/plots.cpp train/trainer.cpp cli/cmd_train.cpp cli/cmd_stubs.cpp cli/main.cpp)
pids=()
for src in "${sources[@]}"; do
  g++ "${flags[@]}" -c "$root/src/$src" -o "$work/obj/${src//\//_}.o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
torch_libs=(-ltorch_cpu -lc10)
# CUDA kernels register themselves when libtorch_cuda loads: keep it although nothing names it.
[[ -e $torch_lib/libtorch_cuda.so ]] && torch_libs=(-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed -ltorch_cpu -lc10_cuda -lc10)
g++ "$work"/obj/*.o -o "$work/moodtunes" -L"$sys/lib" -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lspdlog -lfmt \
  -L"$torch_lib" "${torch_libs[@]}" -pthread -Wl,--allow-shlib-undefined -Wl,-rpath-link,"$sys/lib:$torch_lib"
export LD_LIBRARY_PATH=$sys/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
wait "$untar"
log "built $work/moodtunes; data unpacked"

data=(--train "$work/fer2013/train" --val "$work/fer2013/val")
if [[ -n ${MOODTUNES_EPOCHS:-} ]]; then
  epochs=$MOODTUNES_EPOCHS
  left=$((t0 + minutes * 60 - $(date +%s) - 30))
else
  # Speed from 1000 steps; the first ones (cuDNN autotuning) weigh on it: an underestimate.
  "$work/moodtunes" train "${data[@]}" -o "$work/calibration" --epochs 1 --max-steps 1000 "$@" 2>"$work/calibration.log" ||
    { cat "$work/calibration.log"; exit 1; }
  ips=$(grep -o '[0-9.]* img/s' "$work/calibration.log" | tail -1 | cut -d' ' -f1)
  train_images=$(find "$work/fer2013/train" -name '*.jpg' | wc -l)
  left=$((t0 + minutes * 60 - $(date +%s) - 30))  # 30 s: loading and shipping the run
  epochs=$(python3 -c "print(max(1, min(${MOODTUNES_MAX_EPOCHS:-400}, int($left / ($train_images / $ips * 1.1 + 2)))))")
  log "calibration: $ips img/s; $left s left: $epochs epochs"
fi

timeout --signal=INT $((left + 20)) "$work/moodtunes" train "${data[@]}" -o "$run" --epochs "$epochs" "$@" >"$run/train.log" 2>&1 ||
  log "the trainer stopped early (exit $?): the run folder holds the last finished epoch"
tail -3 "$run/train.log"
if [[ -n ${OUT:-} ]]; then
  cp "$run/best.mtm" "$OUT/" || true
  [[ -f $run/checkpoint.pt ]] && split -b 15M -d "$run/checkpoint.pt" "$OUT/checkpoint.pt.part-"
  cp "$work/calibration.log" "$run/" 2>/dev/null || true
  tar -C "$run" -cf "$OUT/run.tar" --exclude=checkpoint.pt --exclude=best.mtm .
  log "shipped: $(ls "$OUT" | tr '\n' ' ')"
fi
