#!/usr/bin/env bash
# podd's main job, end to end on the embedded scripted model: start a root pod in this
# repository and ask it for an overview. It spawns two child pods (real processes, each with
# read access to one folder) that do the file work with real tools (grep, list_files,
# read_file); their turn_ended reports wake the root, which reads their answers and
# summarises. Then the tree is shown and stopped. State goes to a throw-away PODD_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODD_HOME="${PODD_HOME:-$(mktemp -d "${TMPDIR:-/tmp}/podd-demo-XXXXXX")}"
export PODD_RUNTIME_DIR="${PODD_RUNTIME_DIR:-$PODD_HOME/run}"
podd=./bin/podd
name="demo-$$"
trap '$podd stop "$name" --tree >/dev/null 2>&1 || true' EXIT

echo "\$ podd start $name --model scripted:demo-team"
$podd start "$name" --model scripted:demo-team
echo
echo "\$ podd send $name \"Give me an overview of this repository\""
$podd send "$name" "Give me an overview of this repository"
echo
echo "\$ podd ls --tree"
$podd ls --tree
echo
# The children report when they finish; the root then reads their answers and summarises.
# Wait (at most 30 s) for that summary to reach the root's session.
for _ in $(seq 1 150); do
  if $podd history "$name" 2>/dev/null | grep -q "^.*Summary: two child pods"; then break; fi
  sleep 0.2
done
echo "\$ podd history $name   # the root's session: its run, the children's reports, its summary"
$podd history "$name"
echo
echo "\$ podd stop $name --tree"
$podd stop "$name" --tree
trap - EXIT
echo "(session logs and pod logs kept under $PODD_HOME)"
