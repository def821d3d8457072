#!/usr/bin/env bash
# Packs into .device/ (git-ignored) what scripts/device/train-gpu.sh needs on a lent GPU
# machine. That machine has PyTorch (LibTorch headers and libraries), a compiler and no
# network, but none of this project's Debian libraries and no copy of the data. Packed:
#   sysroot.tar.xz  OpenCV core/imgproc/imgcodecs, spdlog, fmt, their headers, and stubs for
#                   the codec/maths libraries OpenCV links but the trainer never calls
#                   (scripts/device/make_stubs.py);
#   fer2013.tar.xz  FER-2013 train and val (PrivateTest is never packed), each JPEG re-coded
#                   with `jpegtran -optimize`: lossless (same DCT coefficients, same pixels),
#                   so the device trains on exactly the images a CPU run sees.
#   realfaces.tar.xz  realfaces train and val (their seven emotions; contempt is left out), as
#                   the 48x48 faces the trainer's loader makes of the photos, in PNG
#                   (scripts/device/export_faces.cpp): the photos themselves (87 MB) do not fit
#                   the limit below, and a run on the export sees the tensors a CPU run sees.
# The device's transfer limit is 64 MiB for the working tree and the packs together: pack.sh
# prints the sum, which fits with the shipped models set aside (scripts/device/models-aside.sh).
# usage: scripts/device/pack.sh [all|sysroot|data]   (data from $MOODTUNES_DATA, default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
what=${1:-all}
[[ $what == all || $what == sysroot || $what == data ]] || { echo "usage: pack.sh [all|sysroot|data]" >&2; exit 2; }
data=${MOODTUNES_DATA:-../shared/data}
[[ $what == sysroot ]] || command -v jpegtran >/dev/null ||
  { echo "pack.sh: jpegtran missing (apt-get install libjpeg-turbo-progs)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/sysroot/lib" "$tmp/sysroot/stubs" "$tmp/sysroot/include/opencv4/opencv2" "$tmp/stubs"

if [[ $what == all || $what == sysroot ]]; then
libdir=/usr/lib/x86_64-linux-gnu
carried=(libopencv_core.so.406 libopencv_imgproc.so.406 libopencv_imgcodecs.so.406 libtbb.so.12
         libjpeg.so.62 libpng16.so.16 libz.so.1 libspdlog.so.1.10 libfmt.so.9)
for so in "${carried[@]}"; do
  cp -L "$libdir/$so" "$tmp/sysroot/lib/"
  ln -s "$so" "$tmp/sysroot/lib/${so%%.so*}.so"  # the name -l looks for
done
# Libraries the carried ones need that neither they nor the C/C++ runtime provide: stubbed.
runtime='^(libc|libm|libstdc\+\+|libgcc_s|ld-linux-x86-64|libpthread|libdl|librt)\.so'
mapfile -t missing < <(for so in "${carried[@]}"; do readelf -d "$tmp/sysroot/lib/$so"; done |
  sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | grep -v -E "$runtime" | grep -v -x -F -f <(printf '%s\n' "${carried[@]}"))
stub_args=()
for m in "${missing[@]}"; do
  real=$(ldconfig -p | awk -v n="$m" '$1 == n && /x86-64/ && !found {print $NF; found = 1}')
  [[ -n $real ]] || { echo "pack.sh: $m (needed by the carried libraries) is not installed here" >&2; exit 1; }
  stub_args+=("$m=$real")
done
python3 scripts/device/make_stubs.py "$tmp/stubs" "${carried[@]/#/$tmp/sysroot/lib/}" -- "${stub_args[@]}"
for m in "${missing[@]}"; do
  map=(); [[ -f "$tmp/stubs/$m.map" ]] && map=(-Wl,--version-script="$tmp/stubs/$m.map")
  # In their own folder: train-gpu.sh uses a stub only where the machine lacks the real library.
  gcc -shared -fPIC -O1 -o "$tmp/sysroot/stubs/$m" "$tmp/stubs/$m.c" -Wl,-soname,"$m" "${map[@]}"
done

cp -r /usr/include/{nlohmann,spdlog,fmt,CLI} "$tmp/sysroot/include/"
cp -r /usr/include/opencv4/opencv2/{core,core.hpp,imgproc,imgproc.hpp,imgcodecs,imgcodecs.hpp,opencv_modules.hpp} \
  "$tmp/sysroot/include/opencv4/opencv2/"
cp -r /usr/include/x86_64-linux-gnu/opencv4/opencv2/. "$tmp/sysroot/include/opencv4/opencv2/"  # cvconfig.h, cv_cpu_config.h
tar -C "$tmp" -cf - sysroot | xz -6 -T2 > "$out/sysroot.tar.xz"
fi

if [[ $what == all || $what == data ]]; then

for split in train val; do
  for dir in "$data/fer2013/$split"/*/; do
    cls=$(basename "$dir")
    mkdir -p "$tmp/fer2013/$split/$cls"
    for f in "$dir"*.jpg; do jpegtran -optimize -copy none -outfile "$tmp/fer2013/$split/$cls/${f##*/}" "$f"; done
  done
done
tar -C "$tmp" -cf - fer2013 | xz -9 -T2 > "$out/fer2013.tar.xz"

# The exporter uses the project's own loader, so the faces are the loader's to the pixel.
if [[ -d $data/realfaces ]]; then
g++ -std=c++20 -O2 -Isrc scripts/device/export_faces.cpp src/data/fer_dataset.cpp src/preprocess/preprocess.cpp \
  src/core/emotion.cpp -o "$tmp/export_faces" $(pkg-config --cflags-only-I opencv4 | sed "s/-I/-isystem /g") $(pkg-config --libs opencv4)
for split in train val; do
  "$tmp/export_faces" "$data/realfaces/$split" "$tmp/realfaces/$split"
done
tar -C "$tmp" -cf - realfaces | xz -9 -T2 > "$out/realfaces.tar.xz"
else
  echo "pack.sh: no $data/realfaces: FER-2013 only" >&2
  rm -f "$out/realfaces.tar.xz"
fi
fi
du -b "$out"/*.tar.xz
# What a device call sends: the working tree and the carried packs, 64 MiB in all.
bytes_of() { local n=0 f; while IFS= read -r -d '' f; do [[ -f $f ]] && n=$((n + $(stat -c %s "$f"))); done; echo $n; }
tree=$(git ls-files -z --cached --others --exclude-standard | bytes_of)
models=$(git ls-files -z 'models/*.mtm' | bytes_of)
packs=$(printf '%s\0' "$out"/*.tar.xz | bytes_of)
limit=67108864
echo "to the device: working tree $tree bytes (models $models) + packs $packs = $((tree + packs)) of $limit"
if ((tree + packs > limit)); then
  if ((tree - models + packs <= limit)); then
    echo "with the models set aside (scripts/device/models-aside.sh aside): $((tree - models + packs)) bytes: fits"
  else
    echo "pack.sh: $((tree - models + packs)) bytes even with the models set aside: over the device's limit" >&2
    exit 1
  fi
fi
