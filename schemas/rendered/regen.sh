#!/usr/bin/env bash
# Regenerates the JSON Schemas of schemas/rendered/, SOURCES.md and the
# embedded index (compiler/catalyst-schema/src/rendered/index.rs) from the
# CRDs of exact releases in ../shared/crds (the layout its README gives) and
# the hand-written files in handwritten/ and excerpts/. No network.
#
#   schemas/rendered/regen.sh                        # ../shared/crds beside the repository
#   SHARED_CRDS=/path/to/crds schemas/rendered/regen.sh
#
# Every release found there is generated: each Flux release of
# flux/versions.txt, each crossplane/<release>/, each
# provider-hcloud/<owner>+<name>@<tag>/. What is kept of each is said in
# compiler/catalyst-schema/src/rendered/generate.rs. Schemas no longer
# generated are removed. Then: review the diff, `cargo test -p catalyst-schema`
# (which checks the committed files are exactly this output).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="${SHARED_CRDS:-$root/../shared/crds}"
[ -d "$shared" ] || { echo "regen.sh: $shared: no such directory (set SHARED_CRDS)" >&2; exit 2; }

cargo run -q --manifest-path "$root/Cargo.toml" -p catalyst-schema --example crd_to_schema -- \
  --shared "$shared" --root "$root"
