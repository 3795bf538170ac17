#!/usr/bin/env bash
# Make sure the services the tests talk to are up on loopback: PostgreSQL (5432), Redis (6379)
# and Mosquitto (1883). Starts the local Debian services when they are down; fails clearly if a
# service cannot be started. Does nothing for a service that already answers.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 30); do up "$1" && return 0; sleep 1; done; return 1; }
status=0

if ! up 5432; then
  echo "starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  wait_up 5432 || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; status=1; }
fi
if ! up 6379; then
  echo "starting Redis"
  command -v redis-server >/dev/null && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  wait_up 6379 || { echo "Redis is not running on 127.0.0.1:6379" >&2; status=1; }
fi
if ! up 1883; then
  echo "starting Mosquitto"
  command -v mosquitto >/dev/null && mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
  wait_up 1883 || { echo "Mosquitto is not running on 127.0.0.1:1883" >&2; status=1; }
fi
[ $status -eq 0 ] && echo "services: PostgreSQL, Redis and Mosquitto are up"
exit $status
