#!/bin/bash
# jobs/study.sh: a scaling study under Slurm: one config over a list of models and rank counts, one job
# array per rank count (a task per model), then one CSV of every run's n-cut, p-values and times.
#
#   bash jobs/study.sh CONFIG.ini RANKS MODEL... [-- section.key=value ...]
#     e.g. bash jobs/study.sh study.ini 2,8,32 models/gpt2.h5 models/gpt2-medium.h5
#   python3 jobs/study_collect.py DIR     (the collecting job runs it; run it again any time)
#
# Submit from the checkout. Runs go to DIR/runs/<model>-n<ranks> (DIR = study-<config name>, or STUDY_DIR):
# names made from the config, model and rank count, so submitting the same study again resumes stopped
# runs and skips finished ones (their output directories exist). Extra sbatch options (partition,
# account, --time, --mem-per-cpu) go in SBATCH_ARGS; Slurm's SBATCH_* variables work as well.
set -euo pipefail
usage() { echo "usage: bash jobs/study.sh CONFIG.ini RANKS[,RANKS...] MODEL... [-- section.key=value ...]" >&2; exit 2; }
(($# >= 3)) || usage
config=$(realpath -e "$1") || usage
IFS=, read -r -a ranks <<< "$2"
shift 2
models=()
while (($#)) && [[ $1 != -- ]]; do models+=("$(realpath -e "$1")"); shift; done
(($#)) && shift
((${#models[@]})) || usage
dups=$(for m in "${models[@]}"; do basename "${m%.*}"; done | sort | uniq -d)
[[ -z $dups ]] || { echo "study: two models are named '$dups': runs are named after the model file, rename one" >&2; exit 2; }
for r in "${ranks[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || { echo "study: rank count '$r' is not a positive integer" >&2; exit 2; }; done

name=$(basename "$config" .ini)
dir=$(realpath -m "${STUDY_DIR:-study-$name}")
mkdir -p "$dir/runs" "$dir/logs"
printf '%s\n' "${models[@]}" > "$dir/models.txt"
printf '%s\n' "$config" > "$dir/config.txt"
if (($#)); then printf '%s\n' "$@" > "$dir/overrides.txt"; else : > "$dir/overrides.txt"; fi
printf '%s\n' "${ranks[@]}" > "$dir/ranks.txt"

read -r -a extra <<< "${SBATCH_ARGS:-}"
ids=()
for r in "${ranks[@]}"; do
  id=$(sbatch --parsable "${extra[@]}" --ntasks="$r" --array=0-$((${#models[@]} - 1)) --job-name="study-$name-n$r" \
    --output="$dir/logs/%x-%a.out" jobs/study.sbatch "$dir")
  ids+=("${id%%;*}")
  echo "study: $r ranks x ${#models[@]} models: job array ${id%%;*}"
done
dep=$(IFS=:; echo "${ids[*]}")
id=$(sbatch --parsable "${extra[@]}" --ntasks=1 --time=00:10:00 --job-name="study-$name-collect" --dependency="afterany:$dep" \
  --output="$dir/logs/collect.out" --wrap="python3 jobs/study_collect.py '$dir'")
echo "study: the CSV is collected by job ${id%%;*} into $dir/results.csv"
