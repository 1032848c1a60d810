#!/usr/bin/env bash
# Builds the MCP server (pvt-mcp) and packs it as an MCP Bundle: build/pvt.mcpb.
#
# The bundle holds manifest.json, server/pvt-mcp (RPATH $ORIGIN/../lib), lib/ with the shared libraries a
# clean Linux machine may lack (FFmpeg and everything it pulls in except the glibc / libstdc++ / libgcc core,
# which must come from the host: glibc >= the build machine's), licenses/ with the Debian copyright file of
# every bundled library, and README.txt. It is validated and packed with the pinned MCPB CLI
# (tests/mcp/package.json). Usage: scripts/build-bundle.sh [STAGE_DIR [OUT.mcpb]]
# PVT_BUILD_DIR (default build): the CMake build folder to build pvt-mcp in and put the bundle in.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build_dir=$(realpath -m "${PVT_BUILD_DIR:-build}")
stage=$(realpath -m "${1:-$build_dir/bundle}")
out=$(realpath -m "${2:-$build_dir/pvt.mcpb}")

bash scripts/install-deps.sh

# The pinned MCPB CLI (and the rest of the MCP test tooling) lives in tests/mcp.
if [ ! -x tests/mcp/node_modules/.bin/mcpb ]; then
  (cd tests/mcp && npm ci --no-audit --no-fund --prefer-offline)
fi
mcpb() { (cd "$root/tests/mcp" && npx --no-install mcpb "$@"); }

# Build only the server (the test build's cache, if any, is kept as it is).
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" --target pvt-mcp --parallel "$(nproc)"
bin=$build_dir/mcp/pvt-mcp
[ -x "$bin" ] || { echo "build-bundle: $bin was not built" >&2; exit 1; }

# Stage a clean directory: only what the bundle needs.
rm -rf "$stage"
mkdir -p "$stage/server" "$stage/lib" "$stage/licenses"
install -m 644 manifest.json "$stage/manifest.json"
install -m 755 "$bin" "$stage/server/pvt-mcp"
strip --strip-unneeded "$stage/server/pvt-mcp"

# This bundle carries a binary for the machine that built it: say so in the staged manifest, so a host on
# another platform refuses it instead of failing to start it (the repository's manifest lists them all).
case "$(uname -s)" in
  Linux) platform=linux ;;
  Darwin) platform=darwin ;;
  *) platform=win32 ;;
esac
node -e '
  const fs = require("fs");
  const [file, platform] = process.argv.slice(1);
  const m = JSON.parse(fs.readFileSync(file, "utf8"));
  m.compatibility = { ...(m.compatibility || {}), platforms: [platform] };
  fs.writeFileSync(file, JSON.stringify(m, null, 2) + "\n");
' "$stage/manifest.json" "$platform"

# Shared libraries: everything ldd resolves except the system core, which must not be bundled (glibc's
# pieces are tied to the host's loader; libstdc++/libgcc_s are backward compatible and always present).
core='^(linux-vdso|linux-gate|ld-linux[^ ]*|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libthread_db|libnss_[a-z]+|libgcc_s|libstdc[+][+])\.so'
missing=$(ldd "$bin" | awk '/not found/ {print $1}')
[ -z "$missing" ] || { echo "build-bundle: unresolved libraries: $missing" >&2; exit 1; }
declare -A pkgs=()
while read -r name path; do
  [ -n "$path" ] && [ -f "$path" ] || continue
  [[ "$name" =~ $core ]] && continue
  install -m 644 "$(readlink -f "$path")" "$stage/lib/$name"   # the real file under its soname
  # The Debian package that owns it (dpkg knows the /usr path; ldd may print the /lib alias).
  real=$(readlink -f "$path"); dir=$(dirname "$real"); dir=${dir/#\/lib/\/usr\/lib}
  pkg=$(dpkg -S "$dir/$(basename "$path")" 2>/dev/null | head -n1 | cut -d: -f1) || true
  if [ -n "$pkg" ]; then pkgs[$pkg]=1; fi
done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $3}')
for pkg in "${!pkgs[@]}"; do
  if [ -f "/usr/share/doc/$pkg/copyright" ]; then
    install -m 644 "/usr/share/doc/$pkg/copyright" "$stage/licenses/$pkg.copyright"
  fi
done

# The binary finds lib/ through DT_RPATH (not RUNPATH): RPATH also applies to the libraries' own
# dependencies (libavcodec -> libx265 ...), which carry no search path of their own.
patchelf --force-rpath --set-rpath '$ORIGIN/../lib' "$stage/server/pvt-mcp"

# Every non-core library must now resolve inside the bundle, without any help from the environment.
leaks=""
while read -r name path; do
  [[ "$name" =~ $core ]] && continue
  if [ "$path" = "not" ] || [ "$(dirname "$(realpath "$path")")" != "$stage/lib" ]; then leaks+=" $name=>$path"; fi
done < <(env -u LD_LIBRARY_PATH ldd "$stage/server/pvt-mcp" | awk '$2 == "=>" {print $1, $3}')
[ -z "$leaks" ] || { echo "build-bundle: libraries resolved outside the bundle:$leaks" >&2; exit 1; }

cat > "$stage/README.txt" <<EOF
pvt-mcp $(node -p 'require("./manifest.json").version') — the MCP server of pvt, the parallel video transcoder.

server/pvt-mcp   the server (stdio MCP; also runs its own segment workers as "pvt-mcp worker ...")
lib/             shared libraries it loads (FFmpeg, x264 and their dependencies, from Debian $(cut -d. -f1 /etc/debian_version 2>/dev/null || echo '?'))
licenses/        the copyright and licence file of each package those libraries come from

Built for $(uname -s) $(uname -m); needs glibc $(ldd --version | head -n1 | awk '{print $NF}') or newer.
Run by hand: server/pvt-mcp --output-dir DIR   (options: see the project README).
EOF

mcpb validate "$stage/manifest.json"
rm -f "$out"
mcpb pack "$stage" "$out" >/dev/null
size=$(stat -c %s "$out")
echo "build-bundle: $out ($(numfmt --to=iec-i --suffix=B "$size"); $(find "$stage/lib" -type f | wc -l) libraries)"
