#!/usr/bin/env bash
# podd's main job, end to end on the embedded scripted model: start a pod in this repository,
# send it a task it does with real tools (list_files, read_file) on this repository's files,
# stream the answer, show its status, stop it. State goes to a throw-away PODD_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODD_HOME="${PODD_HOME:-$(mktemp -d "${TMPDIR:-/tmp}/podd-demo-XXXXXX")}"
export PODD_RUNTIME_DIR="${PODD_RUNTIME_DIR:-$PODD_HOME/run}"
podd=./bin/podd
name="demo-$$"
trap '$podd stop "$name" >/dev/null 2>&1 || true' EXIT

echo "\$ podd start $name --model scripted"
$podd start "$name" --model scripted
echo
echo "\$ podd send $name \"Give me an overview of this repository\""
$podd send "$name" "Give me an overview of this repository"
echo
echo "\$ podd status $name"
$podd status "$name"
echo
echo "\$ podd stop $name"
$podd stop "$name"
trap - EXIT
echo "(session log and pod log kept under $PODD_HOME)"
