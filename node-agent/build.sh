#!/usr/bin/env bash
# Builds the node agent: vmlinux.h from this machine's BTF, the CO-RE object with clang, then a static Go binary
# embedding it. Cached under ${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-~/.cache}/flotilla/tools}/node-agent-<hash>/
# keyed by a hash of node-agent/'s sources (a no-op when cached). Prints the binary's path; all else goes to stderr.
#   node-agent/build.sh [out-dir]     (out-dir: also copy the binary there)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
out_dir=${1:-}
log() { echo "[node-agent] $*" >&2; }

# The sources: everything under node-agent/ except what this script generates and the overhead benchmark
# (overhead.sh and the results it writes, overhead.md), which are not part of the binary.
hash=$(cd "$here" && find . -type f \
    ! -path './bpf/vmlinux.h' ! -path './internal/probe/obj/*.o' ! -path './.git*' \
    ! -path './overhead.sh' ! -path './overhead.md' -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
cache=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools}/node-agent-$hash
bin=$cache/node-agent
if [ ! -x "$bin" ]; then
  tool() { bash "$repo/scripts/debian-tool.sh" "$1" "$2" "building the node agent's eBPF programs"; }
  clang=$(tool clang clang)
  strip=$(tool llvm-strip llvm)
  bpftool=$(tool bpftool bpftool)
  if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then # a header, not a command: debian-tool.sh installs, then we check
    bash "$repo/scripts/debian-tool.sh" libbpf-headers-present libbpf-dev "the eBPF helper headers" >/dev/null 2>&1 || true
    [ -f /usr/include/bpf/bpf_helpers.h ] || { log "ERROR: libbpf-dev's headers are missing (apt-get install libbpf-dev)"; exit 1; }
  fi
  go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
  [ -x "$go" ] || { log "ERROR: Go is needed (install Go, or set GO)"; exit 1; }
  [ -r /sys/kernel/btf/vmlinux ] || { log "ERROR: no /sys/kernel/btf/vmlinux to generate vmlinux.h from"; exit 1; }

  arch=$(uname -m)
  case "$arch" in x86_64) target_arch=x86 ;; aarch64) target_arch=arm64 ;; *) target_arch=$arch ;; esac
  log "generating bpf/vmlinux.h from /sys/kernel/btf/vmlinux"
  "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c > "$here/bpf/vmlinux.h.tmp"
  mv "$here/bpf/vmlinux.h.tmp" "$here/bpf/vmlinux.h"
  log "compiling bpf/agent.bpf.c"
  obj=$here/internal/probe/obj/agent.bpf.o
  "$clang" -target bpf -D__TARGET_ARCH_"$target_arch" -O2 -g -Wall -Werror \
    -I"$here/bpf" -I/usr/include/"$arch"-linux-gnu -c "$here/bpf/agent.bpf.c" -o "$obj.tmp"
  "$strip" -g "$obj.tmp" -o "$obj" # drops DWARF, keeps .BTF/.BTF.ext for CO-RE
  rm -f "$obj.tmp"
  log "building the static Go binary into $cache"
  mkdir -p "$cache"
  (cd "$here" && CGO_ENABLED=0 "$go" build -trimpath -ldflags='-s -w' -o "$bin.tmp" .) >&2
  mv "$bin.tmp" "$bin"
fi
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  cp "$bin" "$out_dir/node-agent"
  bin=$(cd "$out_dir" && pwd)/node-agent
fi
echo "$bin"
