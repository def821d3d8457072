#!/usr/bin/env bash
# Trains the emotion net on a lent GPU machine (the workplace's `device` tool), with this
# project's own trainer. Unpacks .device/ (made here by scripts/device/pack.sh), builds a
# `moodtunes` that has only `train` against the machine's PyTorch, measures the speed, sizes
# --epochs so the run ends within MINUTES, and trains into RUN_DIR.
# If $OUT is set (the device tool's output folder) the run is copied there in pieces under its
# 16 MiB-per-file limit: best.mtm, checkpoint.pt.part-*, run.tar (logs, metrics, plots).
# Training runs with --device cuda unless the options name a device.
#
# usage: scripts/device/train-gpu.sh MINUTES RUN_DIR [moodtunes train options except --epochs/-o]
# env:   MOODTUNES_EPOCHS (skips the speed measurement), MOODTUNES_MAX_EPOCHS (default 400),
#        MOODTUNES_DEVICE_WORK (scratch folder, default /tmp/moodtunes-device),
#        MOODTUNES_TORCH_INCLUDE / MOODTUNES_TORCH_LIB to use a LibTorch other than python3's
#        (e.g. Debian's, to try this script on a CPU machine with --device cpu).
set -euo pipefail
minutes=$1 run=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=${MOODTUNES_DEVICE_WORK:-/tmp/moodtunes-device}
[[ " $* " == *" --device "* ]] || set -- "$@" --device cuda
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
  # The carried Debian libraries use the C++11 std::string ABI; an old-ABI LibTorch cannot link with them.
  [[ $abi == 1 ]] || { echo "train-gpu.sh: this PyTorch uses the pre-C++11 ABI; the packed libraries need the C++11 one" >&2; exit 1; }
fi
log "$(g++ --version | head -1); $(nproc) cores"

flags=(-std=c++20 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI="$abi" -DMOODTUNES_WITH_TORCH=1 -DMOODTUNES_TRAINER_ONLY=1
       -DMOODTUNES_NO_SUGGEST=1 "-DMOODTUNES_SOURCE_DIR=\"$root\"" -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB
       -DSPDLOG_FMT_EXTERNAL -DFMT_SHARED -I"$root/src" -isystem "$sys/include" -isystem "$sys/include/opencv4")
for dir in "${torch_include[@]}"; do flags+=(-isystem "$dir"); done
sources=(core/emotion.cpp core/preprocess.cpp data/fer_dataset.cpp model/arch.cpp model/model_file.cpp
         model/metrics.cpp model/plots.cpp train/trainer.cpp core/pause_clock.cpp cli/cmd_train.cpp cli/cmd_stubs.cpp cli/main.cpp)
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
wait "$untar"
log "built $work/moodtunes; data unpacked"

data=(--train "$work/fer2013/train" --val "$work/fer2013/val")
rm -f "$run/calibration.log"  # only this call's measurement goes with the run
if [[ -n ${MOODTUNES_EPOCHS:-} ]]; then
  epochs=$MOODTUNES_EPOCHS
  left=$((t0 + minutes * 60 - $(date +%s) - 30))
else
  # Speed over one epoch, from its last two progress lines: each line's img/s averages from the
  # epoch's start, which holds seconds of cuDNN autotuning (the first try here read 1,469 img/s
  # against 6,392 steady); the difference of the two lines leaves that out.
  "$work/moodtunes" train "${data[@]}" -o "$work/calibration" --epochs 1 "$@" 2>"$work/calibration.log" ||
    { cat "$work/calibration.log"; exit 1; }
  cp "$work/calibration.log" "$run/"
  grep -q 'img/s' "$work/calibration.log" || { cat "$work/calibration.log"; echo "train-gpu.sh: no progress lines to time" >&2; exit 1; }
  batch=$(sed -n 's/.*steps\/epoch of \([0-9]*\).*/\1/p' "$work/calibration.log" | head -1)
  ips=$(grep -o '\] [0-9]*/[0-9]* .* [0-9.]* img/s' "$work/calibration.log" | tail -2 |
        awk -v b="$batch" '{split($2, s, "/"); for (i = 1; i <= NF; ++i) if ($(i + 1) == "img/s") r = $i;
                            k[NR] = s[1]; t[NR] = s[1] * b / r}
                           END {print (NR == 2 && t[2] > t[1]) ? (k[2] - k[1]) * b / (t[2] - t[1]) : r}')
  train_images=$(find "$work/fer2013/train" -name '*.jpg' | wc -l)
  left=$((t0 + minutes * 60 - $(date +%s) - 30))  # 30 s: loading and shipping the run
  epochs=$(python3 -c "print(max(1, min(${MOODTUNES_MAX_EPOCHS:-400}, int($left / ($train_images / $ips * 1.1 + 2)))))")
  log "calibration: $ips img/s; $left s left: $epochs epochs"
fi

(( left >= 60 )) || { log "only $left s left: not starting a run"; exit 1; }
timeout --signal=INT $((left + 20)) "$work/moodtunes" train "${data[@]}" -o "$run" --epochs "$epochs" "$@" >"$run/train.log" 2>&1 ||
  log "the trainer stopped early (exit $?): the run folder holds the last finished epoch"
tail -3 "$run/train.log"
if [[ -n ${OUT:-} ]]; then
  cp "$run/best.mtm" "$OUT/" || true
  [[ -f $run/checkpoint.pt ]] && split -b 15M -d "$run/checkpoint.pt" "$OUT/checkpoint.pt.part-"
  tar -C "$run" -cf "$OUT/run.tar" --exclude='checkpoint.pt*' --exclude=best.mtm .
  log "shipped: $(ls "$OUT" | tr '\n' ' ')"
fi
