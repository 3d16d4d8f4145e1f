#!/usr/bin/env bash
# flyp_replicate_tables on hand-written report.json files (three seeds of one
# FLYP configuration): the table of a complete set must hold the means and
# sample stds worked out by hand below, and a set where one report lacks a
# split (or a chosen WiSE-FT alpha) the other seeds have must be rejected
# (exit 1, naming the report and the split), not averaged over fewer seeds.
#   tables_check.sh FLYP_REPLICATE_TABLES
set -uo pipefail
tables=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
bad() { echo "tables_check.sh: $*" >&2; fails=$((fails + 1)); }

# eval_list ID A B: the evaluations of one model (A and B are OOD); "-" leaves a split out.
eval_list() {
  local out="" sep=""
  [[ $1 == - ]] || { out+="$sep{\"split\": \"id_test\", \"ood\": false, \"accuracy\": $1}"; sep=", "; }
  [[ $2 == - ]] || { out+="$sep{\"split\": \"A\", \"ood\": true, \"accuracy\": $2}"; sep=", "; }
  [[ $3 == - ]] || { out+="$sep{\"split\": \"B\", \"ood\": true, \"accuracy\": $3}"; }
  echo "[$out]"
}
# report FILE "ZS_ID ZS_A ZS_B" "FT_ID FT_A FT_B" ALPHA|null "CH_ID CH_A CH_B"
report() {
  local alpha=$4 chosen="[]" job
  job=$(basename "$1" .json)
  # shellcheck disable=SC2086
  [[ $alpha == null ]] || chosen=$(eval_list $5)
  # shellcheck disable=SC2086
  cat >"$1" <<JSON
{"schema_version": 2, "job": "$job", "method": "flyp", "model": "test",
 "id_val_split": "id_val", "id_test_split": "id_test",
 "zeroshot": $(eval_list $2), "finetuned": $(eval_list $3),
 "wise_ft": {"sweep": [], "chosen_alpha": $alpha, "chosen": $chosen}}
JSON
}
report "$dir/s0.json" "0.50 0.30 0.20" "0.60 0.40 0.30" 0.4 "0.66 0.48 0.31"
report "$dir/s1.json" "0.52 0.30 0.22" "0.70 0.50 0.10" 0.5 "0.72 0.52 0.20"
report "$dir/s2.json" "0.54 0.33 0.21" "0.62 0.45 0.27" 0.6 "0.63 0.47 0.29"
report "$dir/s2-noB.json" "0.54 0.33 0.21" "0.62 0.45 -" 0.6 "0.63 0.47 0.29"
report "$dir/s2-noalpha.json" "0.54 0.33 0.21" "0.62 0.45 0.27" null

manifest() { for f in "$@"; do echo "T|FLYP|$dir/$f"; done >"$dir/manifest.txt"; }

# 1. Complete set. Per cell: mean ± sample std (n − 1) over the three seeds, in %:
#   Zeroshot ID .50 .52 .54 -> 52.0 ± 2.0; A .30 .30 .33 -> 31.0 ± 1.7;
#     B .20 .22 .21 -> 21.0 ± 1.0; Avg OOD .25 .26 .27 -> 26.0 ± 1.0
#   FLYP ID .60 .70 .62 -> 64.0 ± 5.3; A .40 .50 .45 -> 45.0 ± 5.0;
#     B .30 .10 .27 -> 22.3 ± 10.8; Avg OOD .35 .30 .36 -> 33.7 ± 3.2
#   WiSE-FT ID .66 .72 .63 -> 67.0 ± 4.6; A .48 .52 .47 -> 49.0 ± 2.6;
#     B .31 .20 .29 -> 26.7 ± 5.9; Avg OOD .395 .36 .38 -> 37.8 ± 1.8; alpha .4 .5 .6 -> 0.50
manifest s0.json s1.json s2.json
out=$("$tables" --manifest "$dir/manifest.txt" --md "$dir/tables.md" 2>&1)
rc=$?
echo "$out"
[[ $rc == 0 ]] || bad "complete set: exit $rc, expected 0"
[[ -f $dir/tables.md ]] && cat "$dir/tables.md"
for want in \
  "| Method | ID | A | B | Avg OOD | alpha |" \
  "| Zeroshot | 52.0 ± 2.0 | 31.0 ± 1.7 | 21.0 ± 1.0 | 26.0 ± 1.0 | - |" \
  "| FLYP | 64.0 ± 5.3 | 45.0 ± 5.0 | 22.3 ± 10.8 | 33.7 ± 3.2 | - |" \
  "| FLYP + WiSE-FT | 67.0 ± 4.6 | 49.0 ± 2.6 | 26.7 ± 5.9 | 37.8 ± 1.8 | 0.50 |" \
  "(3 seed(s); cells: mean ± sample std in %; alpha: mean chosen WiSE-FT alpha)"; do
  grep -qxF -- "$want" "$dir/tables.md" 2>/dev/null || bad "complete set: no line: $want"
done

# 2. One seed lacks the OOD split B in its finetuned evaluations.
rm -f "$dir/tables.md"
manifest s0.json s1.json s2-noB.json
out=$("$tables" --manifest "$dir/manifest.txt" --md "$dir/tables.md" 2>&1)
rc=$?
echo "$out"
[[ $rc == 1 ]] || bad "missing split: exit $rc, expected 1"
grep -qF "replicate_tables: $dir/s2-noB.json: finetuned evaluations lack split 'B' that $dir/s0.json has (table 'T', label 'FLYP'); refusing to average over fewer seeds" <<<"$out" ||
  bad "missing split: the message does not name s2-noB.json and split B"
[[ $(grep -c "lack split" <<<"$out") == 1 ]] || bad "missing split: expected exactly one missing split"
[[ -e $dir/tables.md ]] && bad "missing split: tables.md was written"

# 3. One seed has no chosen WiSE-FT alpha (so no chosen evaluations).
manifest s0.json s2-noalpha.json s1.json
out=$("$tables" --manifest "$dir/manifest.txt" --md "$dir/tables.md" 2>&1)
rc=$?
echo "$out"
[[ $rc == 1 ]] || bad "missing alpha: exit $rc, expected 1"
grep -qF "replicate_tables: $dir/s2-noalpha.json: no chosen WiSE-FT alpha (wise_ft.chosen_alpha) that $dir/s0.json has" <<<"$out" ||
  bad "missing alpha: the message does not name s2-noalpha.json"
[[ -e $dir/tables.md ]] && bad "missing alpha: tables.md was written"

if [[ $fails != 0 ]]; then
  echo "tables_check.sh: $fails problem(s)" >&2
  exit 1
fi
echo "tables_check.sh: means and stds as computed by hand; incomplete seed sets rejected"
