#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), then
# type-checks the program strictly and runs every test file with node's test
# runner. Safe to run again; set-up steps skip what is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== type check (tsc --noEmit, strict)"
npx --no-install tsc --noEmit -p tsconfig.json

echo "== tests"
mapfile -t test_files < <(find tests -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#test_files[@]}" -eq 0 ]; then
    echo "no test files found under tests/" >&2
    exit 1
fi
# One file at a time: the mock runs share the Pulumi SDK's global state, and
# the real-software tests start servers on loopback.
exec node --import tsx --test --test-concurrency=1 "${test_files[@]}"
