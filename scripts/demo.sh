#!/usr/bin/env bash
# Run `archc check` on every .arch file under examples/ and print a summary.
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
for file in "${files[@]}"; do
    if output=$("$archc" check "$file" 2>&1); then
        echo "ok    $file"
    else
        echo "FAIL  $file"
        printf '%s\n' "$output" | sed 's/^/      /'
        failed=$((failed + 1))
    fi
done

total=${#files[@]}
if [ "$failed" -eq 0 ]; then
    echo "demo: $total of $total examples pass archc check"
else
    echo "demo: $failed of $total examples fail archc check"
    exit 1
fi
