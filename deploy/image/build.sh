#!/usr/bin/env bash
# Builds Flotilla's container image on this machine, without pulling any base image: a root filesystem
# from scratch holding a jlink'ed Java runtime (only the modules the jar needs), the few system libraries
# that runtime links against (copied from this machine's Debian), an /etc/passwd naming the non-root user
# 65532, the shaded CLI jar and its AOT cache, trained here with the image's own runtime against the project's
# REAL API server (scripts/aot-training.sh; needs the manager module built and testing/apiserver/build.sh run);
# then an OCI image (umoci) and an OCI archive tarball (skopeo).
# No shell in the image: the entrypoint is the runtime's java running the jar.
#
#   deploy/image/build.sh <flotilla.jar> <sbom.json> <output dir>
#
# Writes <output dir>/flotilla-image.tar (OCI archive, tag 0.1.0-SNAPSHOT), <output dir>/oci (the OCI layout),
# <output dir>/sbom.json, and prints the image's size.
set -euo pipefail
jar=$(readlink -f "${1:?usage: build.sh <flotilla.jar> <sbom.json> <output dir>}")
sbom=$(readlink -f "${2:?sbom.json}")
out=${3:?output dir}
tag=0.1.0-SNAPSHOT
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/scripts/java-env.sh"
umoci=$(bash "$root/scripts/debian-tool.sh" umoci umoci "the container image")
skopeo=$(bash "$root/scripts/debian-tool.sh" skopeo skopeo "the container image")
[ -f "$jar" ] || { echo "build.sh: no jar at $jar (build the manager module first)" >&2; exit 1; }
[ -f "$sbom" ] || { echo "build.sh: no SBOM at $sbom" >&2; exit 1; }
mkdir -p "$out"
out=$(readlink -f "$out")
rootfs="$out/rootfs"
rm -rf "$rootfs" "$out/oci" "$out/flotilla-image.tar"
mkdir -p "$rootfs/opt/flotilla" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" \
  "$rootfs/var/run/secrets/kubernetes.io/serviceaccount"
chmod 1777 "$rootfs/tmp"

# The runtime: what jdeps finds the jar uses, plus DNS for service names.
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 "$jar")
"$JAVA_HOME/bin/jlink" --add-modules "$modules,jdk.naming.dns" --strip-debug --no-man-pages --no-header-files \
  --compress zip-6 --output "$rootfs/opt/flotilla/runtime"
# An AOT cache holds its jar's size and modification time; the image's layer keeps the time in whole seconds only (a
# fraction came back rounded up, and the JVM refused the cache), so the jar's time is made a whole second first.
cp -p "$jar" "$rootfs/opt/flotilla/flotilla.jar"
touch -d "@$(stat -c %Y "$rootfs/opt/flotilla/flotilla.jar")" "$rootfs/opt/flotilla/flotilla.jar"
cp "$sbom" "$rootfs/opt/flotilla/sbom.json"

# The system libraries the runtime's binaries and shared objects load, with the dynamic loader.
libs=$(find "$rootfs/opt/flotilla/runtime" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} \; 2>/dev/null \
  | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | grep '^/' | sort -u)
for lib in $libs; do
  real=$(readlink -f "$lib")
  mkdir -p "$rootfs$(dirname "$lib")"
  cp "$real" "$rootfs$lib"
done
# The JVM resolves names through glibc's NSS: files only (no daemon in the image).
for f in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libresolv.so.2; do
  [ -e "$f" ] && { mkdir -p "$rootfs$(dirname "$f")"; cp "$(readlink -f "$f")" "$rootfs$f"; }
done
printf 'root:x:0:0:root:/:/sbin/nologin\nflotilla:x:65532:65532:flotilla:/tmp:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nflotilla:x:65532:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# The AOT cache: only the runtime and jar it was trained with can use it, so it is trained on these two, where they lie;
# the JVM accepts the move to /opt/flotilla (same relative layout, same jar size and time). The entrypoint repeats the
# training run's module options (native access).
bash "$root/scripts/aot-training.sh" "$rootfs/opt/flotilla/runtime/bin/java" "$rootfs/opt/flotilla/flotilla.jar" \
  "$rootfs/opt/flotilla/flotilla.aot" >&2

# The image: one layer, owned by root (the process runs as 65532 and writes only /tmp).
"$umoci" init --layout "$out/oci" >/dev/null
"$umoci" new --image "$out/oci:$tag"
"$umoci" insert --image "$out/oci:$tag" "$rootfs" / >/dev/null
"$umoci" config --image "$out/oci:$tag" --config.user 65532:65532 --config.workingdir /tmp \
  --config.env JAVA_TOOL_OPTIONS=-XX:MaxRAMPercentage=75 \
  --config.entrypoint /opt/flotilla/runtime/bin/java --config.entrypoint --enable-native-access=ALL-UNNAMED \
  --config.entrypoint -XX:AOTCache=/opt/flotilla/flotilla.aot --config.entrypoint -Xlog:disable \
  --config.entrypoint -Xlog:all=warning:stderr \
  --config.entrypoint -jar --config.entrypoint /opt/flotilla/flotilla.jar \
  --config.cmd run \
  --config.label org.opencontainers.image.title=flotilla --config.label org.opencontainers.image.version=$tag \
  --architecture amd64 --os linux
"$umoci" gc --layout "$out/oci"
"$skopeo" copy --quiet "oci:$out/oci:$tag" "oci-archive:$out/flotilla-image.tar:flotilla:$tag"
cp "$sbom" "$out/sbom.json"
echo "image: $out/flotilla-image.tar ($(du -b "$out/flotilla-image.tar" | cut -f1) bytes; unpacked root $(du -sb "$rootfs" | cut -f1) bytes)"
