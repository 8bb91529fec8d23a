#!/bin/sh
# mesos-standin (TEST-ONLY STAND-IN, NOT MESOS): @ROLE@ daemon entry point.
MESOS_STANDIN_PROGRAM="$(basename "$0")"
export MESOS_STANDIN_PROGRAM
exec /usr/bin/python3 /usr/lib/mesos-standin/mesos_standin.py @ROLE@ "$@"
