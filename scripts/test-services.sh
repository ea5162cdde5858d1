#!/usr/bin/env bash
# Make sure the services the test suite talks to are up: PostgreSQL, Redis, and the tools browser and TLS tests use.
set -euo pipefail

pg_host=${PGHOST:-127.0.0.1}
pg_port=${PGPORT:-5432}
redis_port=${REDIS_PORT:-6379}
missing=()

apt_install() {
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing $* from Debian's packages ..."
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || return 1
    fi
  else
    return 1
  fi
}

if ! pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    echo "Starting PostgreSQL ..."
    for version in /etc/postgresql/*; do
      pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h "$pg_host" -p "$pg_port" && break; sleep 1; done
  fi
  pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null || missing+=("PostgreSQL on $pg_host:$pg_port (Debian: apt-get install postgresql; trust auth for local TCP, or set DATABASE_URL)")
fi

if ! (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis ..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --dir /tmp --logfile /tmp/alilo-redis.log
    for _ in $(seq 1 20); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.5; done
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || missing+=("Redis on 127.0.0.1:$redis_port (Debian: apt-get install redis-server, or set REDIS_URL)")
fi

if ((${#missing[@]} == 0)) && command -v psql >/dev/null; then
  # The settings' own database (the suite itself creates test_alilo); makemigrations --check looks at it.
  psql -h "$pg_host" -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'alilo'" 2>/dev/null | grep -q 1 \
    || createdb -h "$pg_host" -p "$pg_port" -U postgres alilo 2>/dev/null || true
fi

if ((${#missing[@]})); then
  echo "The test suite needs these services, and they are not available:" >&2
  for item in "${missing[@]}"; do echo "  - $item" >&2; done
  exit 1
fi

# Tools some checks need. On a developer's machine a check whose tool is missing is skipped with the reason;
# under CI (CI set, as .ci/run is run) every check must run, so a tool that cannot be installed fails here.
packages_missing=()
checks_missing=()
need_tool() {  # need_tool PACKAGE CHECKS: a tool that is neither installed nor installable, and what needs it
  packages_missing+=("$1")
  checks_missing+=("$2")
}
command -v chromium >/dev/null || apt_install chromium || need_tool chromium "the browser tests"
command -v xgettext >/dev/null || apt_install gettext || need_tool gettext "the translation completeness test"
# nginx lives in /usr/sbin, which a non-root PATH may lack.
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || apt_install nginx-light || apt_install nginx \
  || need_tool nginx-light "the TLS test"
command -v wrk >/dev/null || apt_install wrk || need_tool wrk "the page benchmarks"
command -v openssl >/dev/null || apt_install openssl || need_tool openssl "the TLS test"

if ((${#packages_missing[@]})); then
  ci=${CI:-}
  case ${ci,,} in
    "" | 0 | false | no)
      for i in "${!packages_missing[@]}"; do
        echo "note: ${packages_missing[i]} is missing; ${checks_missing[i]} will be skipped"
      done
      echo "note: to run them: apt-get install ${packages_missing[*]}"
      ;;
    *)
      echo "CI runs every check, and these tools are missing and could not be installed:" >&2
      for i in "${!packages_missing[@]}"; do echo "  - ${packages_missing[i]}, for ${checks_missing[i]}" >&2; done
      echo "Install them as root: apt-get update && apt-get install ${packages_missing[*]}" >&2
      exit 1
      ;;
  esac
fi
exit 0
