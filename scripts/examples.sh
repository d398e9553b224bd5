#!/usr/bin/env bash
# Check and compile every .arch file under examples/ (IR JSON, DOT and SVG pictures
# into out/examples/), print each one's size and cost range, and a summary.
# Exit status: 0 when every example checks cleanly (or there are none), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

archc=${ARCHC:-.venv/bin/archc}
if [ ! -x "$archc" ]; then
    archc=$(command -v archc) || { echo "demo: no archc command; run 'make setup' first" >&2; exit 1; }
fi

mapfile -t files < <(find examples -type f -name '*.arch' 2>/dev/null | LC_ALL=C sort)
if [ ${#files[@]} -eq 0 ]; then
    echo "demo: no .arch examples under examples/ yet; nothing to check"
    exit 0
fi

failed=0
out=out/examples
for file in "${files[@]}"; do
    if output=$("$archc" check "$file" 2>&1) && output+=$'\n'$("$archc" compile "$file" -o "$out" --depth 2 2>&1); then
        echo "ok    $file"
        "$archc" info "$file" | sed -n '1p;/^params/p;/^MACs/p' | sed 's/^/      /'
    else
        echo "FAIL  $file"
        printf '%s\n' "$output" | sed 's/^/      /'
        failed=$((failed + 1))
    fi
done

total=${#files[@]}
if [ "$failed" -ne 0 ]; then
    echo "demo: $failed of $total examples fail archc check"
    exit 1
fi
echo "demo: $total of $total examples pass archc check and compile (IR, DOT, SVG in $out/)"

# Deployment: the released S-ViPNAS-MobileNetV3 subnet to ONNX, checked against torch,
# and its latency on this CPU; then a small synthetic COCO-format data set.
space=examples/spaces/vipnas_mbv3.arch
"$archc" export "$space" --config examples/spaces/vipnas_mbv3.released.json \
    -o "$out/s_vipnas_mbv3.onnx"
"$archc" latency "$space" --config examples/spaces/vipnas_mbv3.released.json --runs 20 --torch
rm -rf "$out/synth"
"$archc" data synth "$out/synth" --train 50 --val 10 --seed 0
