#!/bin/bash
# One sclab experiment split over a Slurm job array: array task i runs shard i+1 of N, where N
# is the number of array tasks, into its own file; `sclab merge` joins the files afterwards.
#
#   target/release/sclab assets        # once, on a login node: fills the shared asset cache
#   sbatch --array=0-7 deploy/slurm/sclab-array.sh rtp --task rtp --rounds 10 --samples 5 --limit 400 --seed 1
#   target/release/sclab merge runs/rtp.shard-*.jsonl --out runs/rtp.jsonl
#
# The first argument names the run, the rest are `sclab run` flags (the same for every shard).
# Keep the array 0-based and without a step (`--array=0-N`; a `%` throttle is fine), so that
# the array's indices are exactly 0..SLURM_ARRAY_TASK_COUNT-1. A task that fails or is requeued
# continues its shard file (`--resume`); resubmitting the same command finishes unfinished
# shards and skips done items. Run it from the repository (or set SCLAB to the binary), with
# `runs/` on a file system that every node sees.
#
#SBATCH --job-name=sclab
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=08:00:00
#SBATCH --output=sclab-%A_%a.log
set -euo pipefail

NAME=${1:?usage: sbatch --array=0-N sclab-array.sh NAME [sclab run flags…]}
shift
SCLAB=${SCLAB:-target/release/sclab}
# The asset cache: shared, so that every task reads the assets fetched once (by `sclab assets`).
export SCLAB_CACHE=${SCLAB_CACHE:-$HOME/.cache/sclab}
# The CPU engine's threads: the cores Slurm gave this task.
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

K=$((SLURM_ARRAY_TASK_ID + 1))
mkdir -p runs
exec "$SCLAB" run "$@" --shard "$K/$SLURM_ARRAY_TASK_COUNT" --resume --out "runs/$NAME.shard-$K.jsonl"
