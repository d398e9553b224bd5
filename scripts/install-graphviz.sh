#!/usr/bin/env bash
# Install graphviz's `dot` binary (SVG/PNG pictures) from Debian when possible.
# Never fails: without `dot`, archc still writes DOT text.
set -u

if command -v dot >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: graphviz 'dot' not found and cannot be installed here (needs root and apt-get);"
    echo "      pictures will be DOT text only. Install graphviz to render SVG/PNG."
    exit 0
fi

echo "installing graphviz (apt-get)"
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq >"$log" 2>&1 &&
   DEBIAN_FRONTEND=noninteractive timeout 600 \
       apt-get install -y -qq --no-install-recommends graphviz >>"$log" 2>&1; then
    rm -f "$log"
else
    echo "warning: could not install graphviz (see below); pictures will be DOT text only."
    tail -n 5 "$log" | sed 's/^/    /'
    rm -f "$log"
fi
exit 0
