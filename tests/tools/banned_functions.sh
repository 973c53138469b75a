#!/bin/sh
# House rule (STYLE.md, Memory): no strcpy, strcat, sprintf, vsprintf, strtok, atoi, atol, gets
# in C sources. Prints every use and fails when there is one.
set -eu
root=${1:-$(dirname "$0")/../..}
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets)[[:space:]]*\(' \
         "$root/src" "$root/include" "$root/tests" --include='*.c' --include='*.h' || true)
if [ -n "$hits" ]; then
  echo "banned functions used (use snprintf, strtoull with an end pointer, bounded buffers):"
  echo "$hits"
  exit 1
fi
echo "banned functions: none used"
