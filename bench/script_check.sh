# Sourced by the bench/*/run_test.sh scripts, which run a benchmark's run.sh
# against stand-in binaries and check its verdicts. The caller sets `here`
# (the folder of the run.sh under test) and `dir` (a scratch folder).
#   run NAME RC [VAR=VALUE ...] -- [run.sh arguments]
#       runs $here/run.sh with those variables, output to $dir/out, and
#       checks its exit status is RC;
#   has PATTERN      checks the last run's output has a line matching it;
#   finish           prints the verdict and exits 1 if any check failed.
failures=0
run() {
  name=$1
  local want=$2 envs=()
  shift 2
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  rc=0
  env "${envs[@]}" bash "$here/run.sh" "$@" >"$dir/out" 2>&1 || rc=$?
  if [[ $rc -ne $want ]]; then
    echo "FAILED: $name: exit $rc, want $want; output:"
    sed 's/^/    /' "$dir/out"
    failures=$((failures + 1))
  fi
}
has() {
  if grep -qE -- "$1" "$dir/out"; then
    echo "ok: $name: exit $rc, $(grep -E -- "$1" "$dir/out" | head -1)"
  else
    echo "FAILED: $name: no line matches /$1/ in:"
    sed 's/^/    /' "$dir/out"
    failures=$((failures + 1))
  fi
}
finish() {
  if ((failures)); then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
