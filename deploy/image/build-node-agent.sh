#!/usr/bin/env bash
# Builds the node agent's container image the way build.sh builds Flotilla's, without pulling any base image: a root
# filesystem from scratch holding the agent's static binary and an /etc/passwd; then an OCI image (umoci) and an OCI
# archive tarball (skopeo). No shell, no libraries, nothing else: the entrypoint is the binary.
#
#   deploy/image/build-node-agent.sh <node-agent binary> <output dir>
#   (the binary: what `bash node-agent/build.sh` prints)
#
# Writes <output dir>/flotilla-node-agent-image.tar (OCI archive, flotilla-node-agent:0.1.0-SNAPSHOT) and
# <output dir>/oci (the OCI layout), and prints the image's size. Refuses a binary that is not statically linked:
# the image has no dynamic loader and no libc.
# The image's user is 0: the DaemonSet (deploy/components/node-agent) runs it as uid 0 with every capability dropped
# but CAP_BPF and CAP_PERFMON, since a non-root process gets no effective capabilities from Kubernetes.
set -euo pipefail
usage="usage: build-node-agent.sh <node-agent binary> <output dir>"
bin=${1:?$usage}
out=${2:?$usage}
tag=0.1.0-SNAPSHOT
name=flotilla-node-agent
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -f "$bin" ] || { echo "build-node-agent.sh: no binary at $bin (build it with: bash node-agent/build.sh)" >&2; exit 1; }
bin=$(readlink -f "$bin")
umoci=$(bash "$root/scripts/debian-tool.sh" umoci umoci "the container image")
skopeo=$(bash "$root/scripts/debian-tool.sh" skopeo skopeo "the container image")

# Static, or refuse: `file` must say so and the ELF must have no interpreter (what ldd would need).
kind=$(file -b "$bin")
case "$kind" in
  ELF*executable*) ;;
  *) echo "build-node-agent.sh: $bin is not an ELF executable: $kind" >&2; exit 1 ;;
esac
if [[ "$kind" != *"statically linked"* && "$kind" != *"static-pie linked"* ]] || [[ "$kind" == *"interpreter"* ]] || ldd "$bin" >/dev/null 2>&1; then
  echo "build-node-agent.sh: $bin is dynamically linked ($kind; ldd: $(ldd "$bin" 2>&1 | head -3 | tr '\n' ' '))." >&2
  echo "  The image has no libc or loader: build it with CGO_ENABLED=0 (node-agent/build.sh does)." >&2
  exit 1
fi

mkdir -p "$out"
out=$(readlink -f "$out")
rootfs="$out/rootfs"
rm -rf "$rootfs" "$out/oci" "$out/$name-image.tar"
# /proc and /sys are where the runtime mounts them; /host/sys/fs/cgroup is the DaemonSet's cgroup mount point.
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/host/sys/fs/cgroup" \
  "$rootfs/var/run/secrets/kubernetes.io/serviceaccount"
install -m 0755 "$bin" "$rootfs/usr/local/bin/node-agent"
printf 'root:x:0:0:root:/:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

# The image: one layer, owned by root.
"$umoci" init --layout "$out/oci" >/dev/null
"$umoci" new --image "$out/oci:$tag"
"$umoci" insert --image "$out/oci:$tag" "$rootfs" / >/dev/null
"$umoci" config --image "$out/oci:$tag" --config.user 0:0 --config.workingdir / \
  --config.entrypoint /usr/local/bin/node-agent \
  --config.label org.opencontainers.image.title=$name --config.label org.opencontainers.image.version=$tag \
  --architecture amd64 --os linux
"$umoci" gc --layout "$out/oci"
"$skopeo" copy --quiet "oci:$out/oci:$tag" "oci-archive:$out/$name-image.tar:$name:$tag"
echo "image: $out/$name-image.tar ($(du -b "$out/$name-image.tar" | cut -f1) bytes; unpacked root $(du -sb "$rootfs" | cut -f1) bytes)"
