#!/usr/bin/env bash
# Grade a student's fork against the course's upstream suites and grader.
#
#   .github/grade-fork.sh UPSTREAM_DIR FORK_DIR OUT_DIR
#
# UPSTREAM_DIR is a checkout of the course at the ref the class pins; FORK_DIR
# is the student's checkout. Only the fork's exercises/NN_slug/solution.py files
# are taken: its tests/, grader/ and everything else are never used. Writes
# OUT_DIR/results.json (and the GitHub job summary when GITHUB_STEP_SUMMARY is
# set); prints GitHub annotations and "Points X/Y". Exit status: grade's.
set -euo pipefail
upstream=$(cd "$1" && pwd)
fork=$(cd "$2" && pwd)
out=$3
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The upstream checkout must be the course as published: refuse edited suites.
grade verify --course "$upstream"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$upstream/." "$work/course"
for stub in "$work"/course/exercises/*/solution.py; do
    slug=$(basename "$(dirname "$stub")")
    theirs="$fork/exercises/$slug/solution.py"
    if [ -f "$theirs" ] && [ ! -L "$theirs" ]; then
        cp "$theirs" "$stub"
    fi
done
status=0
grade all --course "$work/course" --format json --output "$out/results.json" || status=$?
grade all --course "$work/course" --format github || true
exit "$status"
