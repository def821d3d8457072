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
# The device's transfer limit is 64 MiB for the whole working tree: pack.sh prints the sizes.
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
fi
du -b "$out"/*.tar.xz
echo "tracked files: $(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes (limit with the packs: 67108864)"
