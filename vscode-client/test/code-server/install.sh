#!/usr/bin/env bash
# Installs code-server (the real VS Code workbench served to a browser) from the npm registry
# without network access beyond it, for the extension's end-to-end suite.
#
#   bash test/code-server/install.sh [DEST]      # DEST defaults to vscode-client/.code-server
#
# A plain `npm install code-server` does not work offline: its postinstall makes node-gyp
# download Node headers and @vscode/ripgrep download `rg`. So: unpack the npm tarball, install
# its dependencies without scripts, rebuild the native modules against the system's Node
# headers, use the system's ripgrep and make the links the postinstall would make.
# Needs: Node 20, npm, g++, make, Debian's libkrb5-dev (kerberos) and ripgrep (.ci/run installs
# them). Idempotent: a finished install is recognised by its stamp file and left alone.
set -euo pipefail

VERSION=4.100.3   # the newest code-server whose engines.node accepts Node 20 (VS Code 1.100.3)
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../../.code-server}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
root="$dest/code-server-$VERSION"
stamp="$root/.treelane-installed"

if [ -f "$stamp" ]; then
  echo "code-server $VERSION already installed in $root"
  exit 0
fi

for tool in node npm g++ make rg; do
  command -v "$tool" >/dev/null || { echo "install.sh: '$tool' is missing (Debian: see .ci/run)" >&2; exit 1; }
done
[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || {
  echo "install.sh: Kerberos headers are missing (Debian package libkrb5-dev)" >&2; exit 1; }
nodedir=/usr
[ -f "$nodedir/include/node/node.h" ] || {
  echo "install.sh: Node headers not found in $nodedir/include/node (they ship with the nodejs package)" >&2; exit 1; }

work="$(mktemp -d "$dest/.install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "installing code-server $VERSION into $root"
(cd "$work" && npm pack --silent "code-server@$VERSION" >/dev/null)
tar -xzf "$work/code-server-$VERSION.tgz" -C "$work"
pkg="$work/package"

export npm_config_nodedir="$nodedir" npm_config_update_notifier=false npm_config_fund=false \
  npm_config_audit=false npm_config_loglevel=error
(cd "$pkg" && npm install --omit=dev --ignore-scripts --no-package-lock >/dev/null)
(cd "$pkg/lib/vscode" && npm install --omit=dev --ignore-scripts --no-package-lock >/dev/null)
(cd "$pkg" && npm rebuild argon2 >/dev/null)
# node-pty's rebuild ends by running `npx node-gyp` for compile_commands.json, which fails
# offline after pty.node is built; the check below is what matters.
(cd "$pkg/lib/vscode" && npm rebuild @vscode/spdlog @vscode/deviceid native-watchdog kerberos >/dev/null)
(cd "$pkg/lib/vscode" && npm rebuild node-pty >/dev/null 2>&1) || true
for native in \
  node_modules/node-pty/build/Release/pty.node \
  node_modules/@vscode/spdlog/build/Release/spdlog.node \
  node_modules/kerberos/build/Release/kerberos.node; do
  [ -f "$pkg/lib/vscode/$native" ] || { echo "install.sh: native module not built: $native" >&2; exit 1; }
done

mkdir -p "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin"
ln -sf "$(command -v rg)" "$pkg/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$pkg/lib/vscode/node_modules.asar"
ln -sf code-linux.sh "$pkg/lib/vscode/bin/remote-cli/code-server"
ln -sf browser-linux.sh "$pkg/lib/vscode/bin/helpers/browser.sh"

rm -rf "$root"
mv "$pkg" "$root"
XDG_CONFIG_HOME="$work/config" node "$root/out/node/entry.js" --version | grep -F "$VERSION" > "$stamp"
echo "code-server $(cat "$stamp") installed in $root"
