#!/usr/bin/env bash
# The logic of the leakseal GitHub Action (action.yml runs it; the test suite runs it against
# temp repositories with synthetic event payloads).
#
# From the event it works out what to scan:
#   pull_request, pull_request_target  --range BASE_SHA..HEAD_SHA (the pull request's commits)
#   merge_group                        --range BASE_SHA..HEAD_SHA
#   push                               --range BEFORE..AFTER; a new branch (all-zero BEFORE): its
#                                      commits not on the default branch, or everything
#                                      reachable from AFTER when there is no default branch yet
#   schedule, workflow_dispatch, other --history (every ref)
# It refuses a checkout that lacks the commits it needs (a shallow clone), runs leakseal once
# with annotations on stdout (--format github), a SARIF file, a Markdown step summary and a JSON
# report, then sets the step outputs `findings`, `exit-code` and `sarif`.
#
# Environment (inputs arrive as INPUT_* from action.yml):
#   LEAKSEAL_BIN            leakseal binary (default: leakseal on PATH)
#   INPUT_PATH              repository, or a directory in it (default: .)
#   INPUT_CONFIG            config file (--config), optional
#   INPUT_BASELINE          baseline file (--baseline), optional; skipped with a warning when the
#                           leakseal binary has no --baseline option
#   INPUT_ARGS              extra arguments, split on whitespace
#   INPUT_FAIL_ON_FINDINGS  true (default) | false
#   INPUT_SARIF             where to write the SARIF file (default: leakseal.sarif)
#   GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE,
#   RUNNER_TEMP             as set by GitHub Actions
#
# Exit status: 0 clean (or findings with fail-on-findings: false), 1 findings, 2 error.

set -uo pipefail
set -f # INPUT_ARGS is split on whitespace, never globbed

die() {
  # An error annotation and a line in the log, then exit 2.
  printf '::error title=leakseal::%s\n' "$(escape_data "$1")"
  printf 'error: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf '  hint: %s\n' "$2" >&2
  set_output exit-code 2
  exit 2
}

escape_data() {
  local s=$1
  s=${s//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  s=${s//$'\n'/'%0A'}
  printf '%s' "$s"
}

set_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

event_field() {
  jq -r "$1 // empty" "$GITHUB_EVENT_PATH"
}

has_commit() {
  git -C "$REPO" cat-file -e "$1^{commit}" 2>/dev/null
}

is_shallow() {
  [ "$(git -C "$REPO" rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]
}

# Fails unless every commit named is in the clone, with the fix when the clone is shallow.
need_commits() {
  local sha
  for sha in "$@"; do
    if ! has_commit "$sha"; then
      if is_shallow; then
        die "commit $sha is not in this shallow checkout, so the $EVENT commits cannot be scanned" \
          "check out the full history: actions/checkout with 'fetch-depth: 0'"
      fi
      die "commit $sha is not in the checkout" \
        "check out the full history: actions/checkout with 'fetch-depth: 0'"
    fi
  done
}

ZERO=0000000000000000000000000000000000000000
BIN=${LEAKSEAL_BIN:-leakseal}
EVENT=${GITHUB_EVENT_NAME:-}
FAIL_ON_FINDINGS=${INPUT_FAIL_ON_FINDINGS:-true}
SARIF=${INPUT_SARIF:-leakseal.sarif}
TMP=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/leakseal-action.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$TMP"' EXIT

cd "${GITHUB_WORKSPACE:-.}" || die "cannot enter GITHUB_WORKSPACE ($GITHUB_WORKSPACE)"
REPO=${INPUT_PATH:-.}
[ -d "$REPO" ] || die "path '$REPO' is not a directory"
command -v "$BIN" >/dev/null 2>&1 || die "leakseal binary '$BIN' not found"
git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1 ||
  die "'$REPO' is not a git repository" "run actions/checkout (with 'fetch-depth: 0') before this action"
if [ -n "$EVENT" ] && [ "$EVENT" != schedule ] && [ "$EVENT" != workflow_dispatch ]; then
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] ||
    die "GITHUB_EVENT_PATH is not set or not a file, so the $EVENT event cannot be read"
  command -v jq >/dev/null 2>&1 || die "jq is required to read the event payload"
fi

# What to scan: the leakseal git-mode arguments, and an environment for --pre-push.
MODE=()
MODE_ENV=()
case "$EVENT" in
  pull_request | pull_request_target)
    base=$(event_field .pull_request.base.sha)
    head=$(event_field .pull_request.head.sha)
    [ -n "$base" ] && [ -n "$head" ] || die "the $EVENT payload has no pull_request.base.sha / head.sha"
    need_commits "$base" "$head"
    MODE=(--range "$base..$head")
    ;;
  merge_group)
    base=$(event_field .merge_group.base_sha)
    head=$(event_field .merge_group.head_sha)
    [ -n "$base" ] && [ -n "$head" ] || die "the merge_group payload has no base_sha / head_sha"
    need_commits "$base" "$head"
    MODE=(--range "$base..$head")
    ;;
  push)
    before=$(event_field .before)
    after=$(event_field .after)
    ref=$(event_field .ref)
    default_branch=$(event_field .repository.default_branch)
    [ -n "$after" ] || die "the push payload has no 'after' commit"
    if [ "$after" = "$ZERO" ]; then
      echo "leakseal: $ref was deleted; nothing to scan" >&2
      set_output findings 0
      set_output exit-code 0
      set_output sarif ""
      exit 0
    fi
    need_commits "$after"
    if [ -n "$before" ] && [ "$before" != "$ZERO" ]; then
      if has_commit "$before"; then
        MODE=(--range "$before..$after")
      elif is_shallow; then
        need_commits "$before"
      else
        # A force push replaced commits this clone never had: scan what the branch adds over
        # the default branch instead.
        echo "leakseal: $before (the branch before the push) is not in the checkout; scanning the branch's commits instead" >&2
        before=$ZERO
      fi
    fi
    if [ ${#MODE[@]} -eq 0 ]; then
      # A new branch (or tag): the commits it adds over the default branch; with no default
      # branch to compare with (the first push), everything reachable from AFTER.
      base=""
      branch=${ref#refs/heads/}
      if [ -n "$default_branch" ] && [ "$ref" != "refs/heads/$default_branch" ]; then
        for candidate in "refs/remotes/origin/$default_branch" "refs/heads/$default_branch"; do
          if git -C "$REPO" rev-parse -q --verify "$candidate^{commit}" >/dev/null; then
            base=$(git -C "$REPO" rev-parse "$candidate^{commit}")
            break
          fi
        done
        if [ -z "$base" ] && is_shallow; then
          die "the default branch '$default_branch' is not in this shallow checkout, so the new branch's commits cannot be told apart" \
            "check out the full history: actions/checkout with 'fetch-depth: 0'"
        fi
      fi
      if [ -n "$base" ]; then
        echo "leakseal: new ${branch}: scanning its commits not on $default_branch" >&2
        MODE=(--range "$base..$after")
      else
        if is_shallow; then
          die "this shallow checkout does not hold the history of the new ref $ref" \
            "check out the full history: actions/checkout with 'fetch-depth: 0'"
        fi
        echo "leakseal: new ${branch} with nothing to compare with: scanning every commit reachable from it" >&2
        # --pre-push with an all-zero "from" scans from the root commits up to "to".
        MODE=(--pre-push)
        MODE_ENV=("PRE_COMMIT_FROM_REF=$ZERO" "PRE_COMMIT_TO_REF=$after")
      fi
    fi
    ;;
  *)
    if is_shallow; then
      die "a full-history scan (${EVENT:-no event}) needs the whole history, and this checkout is shallow" \
        "check out the full history: actions/checkout with 'fetch-depth: 0'"
    fi
    MODE=(--history)
    ;;
esac

ARGS=()
[ -n "${INPUT_CONFIG:-}" ] && ARGS+=(--config "$INPUT_CONFIG")
if [ -n "${INPUT_BASELINE:-}" ]; then
  if "$BIN" scan --help 2>/dev/null | grep -q -- '--baseline'; then
    ARGS+=(--baseline "$INPUT_BASELINE")
  else
    printf '::warning title=leakseal::%s\n' \
      "$(escape_data "this leakseal has no --baseline option; the baseline '$INPUT_BASELINE' is ignored and every finding is reported")"
  fi
fi
if [ -n "${INPUT_ARGS:-}" ]; then
  # shellcheck disable=SC2206 # whitespace splitting is the documented behaviour
  ARGS+=(${INPUT_ARGS})
fi

mkdir -p "$(dirname "$SARIF")" || die "cannot create the directory of $SARIF"
echo "leakseal: leakseal scan --format github ${MODE[*]} ${ARGS[*]+"${ARGS[*]}"} $REPO" >&2
# (The ${a[@]+"${a[@]}"} form keeps empty arrays working under `set -u` in bash 3.2, macOS.)
env ${MODE_ENV[@]+"${MODE_ENV[@]}"} "$BIN" scan --format github --color never \
  --output-sarif "$SARIF" --report "markdown=$TMP/summary.md" --output-json "$TMP/report.json" \
  "${MODE[@]}" ${ARGS[@]+"${ARGS[@]}"} -- "$REPO"
code=$?

findings=0
if [ -f "$TMP/report.json" ]; then
  if command -v jq >/dev/null 2>&1; then
    findings=$(jq '.summary.findings' "$TMP/report.json")
  else
    findings=$(sed -n 's/^    "findings": \([0-9][0-9]*\),$/\1/p' "$TMP/report.json" | tail -n 1)
  fi
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$TMP/summary.md" ]; then
  cat "$TMP/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
set_output findings "${findings:-0}"
set_output exit-code "$code"
if [ -f "$SARIF" ]; then
  set_output sarif "$SARIF"
else
  set_output sarif ""
fi

# 2 is an error (something could not be scanned, or bad input) and always fails the step; any
# other non-zero code means findings (`--exit-code N` in `args` may change it).
case "$code" in
  0) exit 0 ;;
  2) exit 2 ;;
  *)
    if [ "$FAIL_ON_FINDINGS" = "false" ]; then
      echo "leakseal: ${findings:-0} finding(s); not failing the step (fail-on-findings: false)" >&2
      exit 0
    fi
    exit 1
    ;;
esac
