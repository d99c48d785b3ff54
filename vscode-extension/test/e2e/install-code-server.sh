#!/usr/bin/env bash
# Installs code-server, the real VS Code that the end-to-end tests drive in headless Chromium, into
# DIR (default: .cache/code-server at the repository root). Everything comes from the npm registry
# and Debian's apt: code-server's own install steps would fetch ripgrep and prebuilt native modules
# from GitHub, so they are skipped, the native modules are compiled here against the local Node.js,
# and ripgrep is Debian's.
#
#   usage: install-code-server.sh [DIR]
#
# code-server 4.100.x (VS Code 1.100) is the newest line that runs on Node.js 20. The install is
# built in DIR.partial and moved into place only once every native module loads, so an interrupted
# run is never taken for a finished one. A second run with the same version does nothing.
set -euo pipefail

version=4.100.3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:-$here/../../../.cache/code-server}
# Absolute, since the steps below change directory.
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
stamp=$dir/.code-server-$version

if [ -f "$stamp" ]; then
    echo "code-server $version is already installed in $dir"
    exit 0
fi
started=$SECONDS

# Compilers and headers for the native modules, ripgrep for VS Code's search, Chromium for the tests.
debs=(build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium)
missing=()
for deb in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "ok installed" || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "Installing Debian packages: ${missing[*]}"
    apt_install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
    # Refresh the package lists only when they are too old to have the packages.
    apt_install || { $sudo apt-get update -qq && apt_install; }
fi

# node-gyp downloads Node's headers unless told where they are; Debian's nodejs ships them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ] && [ "$(command -v node)" = /usr/bin/node ]; then
    export npm_config_nodedir=/usr
fi
npm_quiet=(--no-audit --no-fund --loglevel=error)

partial=$dir.partial
rm -rf "$partial"
mkdir -p "$partial"
cd "$partial"
echo '{"private": true, "description": "code-server for the end-to-end tests"}' >package.json
echo "Installing code-server $version from the npm registry"
npm install "${npm_quiet[@]}" --ignore-scripts "code-server@$version"
npm rebuild "${npm_quiet[@]}" argon2

# VS Code inside code-server: its production dependencies, then its native modules, compiled here.
cd node_modules/code-server/lib/vscode
npm install "${npm_quiet[@]}" --omit=dev --ignore-scripts
native=(@vscode/spdlog node-pty native-watchdog kerberos @vscode/deviceid)
for module in "${native[@]}"; do
    # node-pty's install script fails in a helper step after its module is built, so each module is
    # judged by whether it loads, below, not by npm's exit status.
    npm rebuild "${npm_quiet[@]}" "$module" >/dev/null 2>&1 || true
done
for module in "${native[@]}"; do
    node -e 'require(process.argv[1])' "$module" 2>/dev/null || {
        echo "install-code-server: the native module $module did not build; see: npm rebuild $module (in $PWD)" >&2
        exit 1
    }
done
# VS Code's server resolves its modules through node_modules.asar, which a packaged build has.
ln -sfn node_modules node_modules.asar
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
(cd extensions && npm install "${npm_quiet[@]}" --omit=dev --ignore-scripts)

cd "$partial"
node node_modules/code-server/out/node/entry.js --version >/dev/null
touch ".code-server-$version"
cd /
rm -rf "$dir"
mv "$partial" "$dir"
echo "code-server $version installed in $dir in $((SECONDS - started)) s"
