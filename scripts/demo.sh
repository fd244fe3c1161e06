#!/usr/bin/env bash
# podd's main job, end to end on the embedded scripted model: start a root pod in this
# repository and ask it for an overview. It spawns two child pods (real processes, each with
# read access to one folder) that do the file work with real tools (grep, list_files,
# read_file); their turn_ended reports wake the root, which reads their answers and
# summarises. Then the tree is shown and stopped. State goes to a throw-away PODD_HOME unless
# PODD_HOME is set; run again with the same PODD_HOME, the root starts on a new session and
# reuses its former children's names (their old sessions stay, see `podd sessions`).
# Any failed step (a spawn refused, a child that errors, reports that do not arrive within
# 30 s) ends the demo with exit 1 and a `demo failed: …` line on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODD_HOME="${PODD_HOME:-$(mktemp -d "${TMPDIR:-/tmp}/podd-demo-XXXXXX")}"
export PODD_RUNTIME_DIR="${PODD_RUNTIME_DIR:-$PODD_HOME/run}"
podd=./bin/podd
name="demo"

fail() {
  echo "demo failed: $*" >&2
  echo "(state kept under $PODD_HOME: podd history $name, podd ls --all, podd logs <pod>)" >&2
  exit 1
}
# How far the root got: `failed: <what>`, `done` (its summary is there) or `waiting` (scripts/demo-check.mjs).
progress() { $podd export "$name" --format jsonl --active | node scripts/demo-check.mjs; }

echo "\$ podd start $name --new --model scripted:demo-team"
$podd start "$name" --new --model scripted:demo-team || fail "the root pod did not start (is a pod named $name already running? podd ls)"
trap '$podd stop "$name" --tree >/dev/null 2>&1 || true' EXIT
echo
echo "\$ podd send $name \"Give me an overview of this repository\""
$podd send "$name" "Give me an overview of this repository" || fail "the root's run did not finish (podd send exited $?)"
state="$(progress)" || fail "cannot read the root's session (podd export $name)"
[[ "$state" != failed:* ]] || fail "${state#failed: }"
echo
echo "\$ podd ls --tree"
$podd ls --tree
echo
# The children report when they finish; the root then reads their answers and summarises.
# Wait (at most 30 s) for that summary to reach the root's session; a child's error ends the wait.
for _ in $(seq 1 150); do
  state="$(progress)" || fail "cannot read the root's session (podd export $name)"
  [[ "$state" != failed:* ]] || fail "${state#failed: }"
  [ "$state" = done ] && break
  sleep 0.2
done
[ "$state" = done ] || fail "the children's reports and the root's summary did not arrive within 30 s"
echo "\$ podd history $name   # the root's session: its run, the children's reports, its summary"
$podd history "$name"
echo
echo "\$ podd stop $name --tree"
$podd stop "$name" --tree
trap - EXIT
echo "(session logs and pod logs kept under $PODD_HOME)"
