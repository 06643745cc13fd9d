#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, from the Go module proxy) at the pinned version into a cache directory, once;
# prints the binary's path. The k3s chaos suite installs Chaos Mesh's chart with it.
#   scripts/helm.sh
# Environment: as scripts/go-tool.sh.
set -euo pipefail
version=v4.3.2
# The version is stamped as Helm's own release build stamps it; without it helm reports v4.x-dev.
exec bash "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" helm "$version" helm.sh/helm/v4/cmd/helm version \
  -ldflags "-X helm.sh/helm/v4/internal/version.version=$version"
