#!/usr/bin/env bash
# `ray job submit` that waits for the head's job agent.
#
#   cluster/submit.sh --address http://HEAD_IP:8265 --working-dir . -- seqgan train ...
#
# Takes exactly `ray job submit`'s arguments. Right after `ray start --head` (or a head pod
# starting) the dashboard answers before the head's job agent has registered, and a submit
# fails with "No available agent to submit job, please try again later"; no job exists
# then, so trying again is safe. This retries that one failure every 3 s for up to
# $SEQGAN_SUBMIT_WAIT_S seconds (default 180), then stops with one line saying what to
# check. Any other result (the job's success or failure, a refused token, a wrong
# address) is returned at once, with `ray job submit`'s own exit status.
set -uo pipefail
wait_s=${SEQGAN_SUBMIT_WAIT_S:-180}
deadline=$((SECONDS + wait_s))
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tries=0
while :; do
  tries=$((tries + 1))
  # the agent's refusal comes before any job output: keep only the first 64 KiB to look at
  ray job submit "$@" 2>&1 | tee >(head -c 65536 >"$out")
  rc=${PIPESTATUS[0]}
  wait  # the process substitution has written $out
  if [ "$rc" -eq 0 ] || ! grep -q "No available agent to submit job" "$out"; then
    exit "$rc"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "submit.sh: no job agent answered on the head within ${wait_s} s ($tries tries): check that the head is up (\`ray status\` there) and that --address is its dashboard (port 8265); SEQGAN_SUBMIT_WAIT_S waits longer" >&2
    exit 3
  fi
  echo "submit.sh: the head's job agent is not up yet; trying again in 3 s (up to ${wait_s} s in all)" >&2
  sleep 3
done
