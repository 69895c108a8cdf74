#!/usr/bin/env bash
# Kept for cron jobs and docs written for the old script: passes every option to
# `dbops restore-db` and exits with its code (0 success, 1 failure, 2 usage error).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec npx --no-install dbops restore-db "$@"
