#!/usr/bin/env bash
# Regenerates the JSON Schemas of schemas/rendered/ from their sources: the
# upstream CRDs at the refs recorded in SOURCES.md (fetched from
# raw.githubusercontent.com) and the hand-written CRD-shaped files in
# handwritten/. Every schema is exactly the output of
# compiler/catalyst-schema/examples/crd_to_schema.rs.
#
# Fetching needs a machine with internet access. Where there is none, put the
# CRD files (named as upstream, e.g. source.toolkit.fluxcd.io_gitrepositories.yaml)
# in a folder and point CRD_DIR at it:  CRD_DIR=/path/to/crds ./regen.sh
# excerpts/ holds the structural part of each upstream CRD at the recorded
# ref, which gives the same output offline:
#   CRD_DIR=schemas/rendered/excerpts schemas/rendered/regen.sh
# (`cargo test -p catalyst-schema` checks that the committed schemas are the
# converter's output for excerpts/ and handwritten/).
#
# To move to a newer upstream release: change the ref below and in SOURCES.md,
# run this script, review the diff, run `cargo test -p catalyst-schema`.
# (Overwrite the schemas in place: the crate embeds them, so deleting one
# first stops the converter from building.)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build -q --manifest-path "$root/Cargo.toml" -p catalyst-schema --example crd_to_schema
target_dir="$(cargo metadata -q --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
convert="$target_dir/debug/examples/crd_to_schema"

# fetch REPOSITORY REF PATH: prints the local copy's path.
fetch() {
  local repo="$1" ref="$2" path="$3" name
  name="$(basename "$path")"
  if [ -n "${CRD_DIR:-}" ]; then
    cp "$CRD_DIR/$name" "$work/$name"
  else
    curl -fsSL --retry 3 -o "$work/$name" "https://raw.githubusercontent.com/$repo/$ref/$path"
  fi
  printf '%s\n' "$work/$name"
}

# upstream REPOSITORY REF PATH VERSION [crd_to_schema options...]
upstream() {
  local repo="$1" ref="$2" path="$3" version="$4" file
  shift 4
  file="$(fetch "$repo" "$ref" "$path")"
  "$convert" --version "$version" --repository "$repo" --path "$path" --ref "$ref" "$@" \
    --out-dir "$here" "$file"
}

# Flux (source-controller, kustomize-controller, helm-controller): the
# versions the templates emit.
upstream fluxcd/source-controller c9a5e76d24d367ac9279052c10c1bb885df7fc70 \
  config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml v1
upstream fluxcd/source-controller 316edc33e867e3f084c65c1da7168ed409885d61 \
  config/crd/bases/source.toolkit.fluxcd.io_ocirepositories.yaml v1
upstream fluxcd/kustomize-controller 049a805992230b7fc7c6975261c829967bed048c \
  config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml v1
upstream fluxcd/helm-controller c3f72aa47d5d9526a5eeddedd0cc5cd58c75fc13 \
  config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml v2

# Crossplane core: Provider.
upstream crossplane/crossplane edb536d51d372203a5f146dd5ade12946504f89d \
  cluster/crds/pkg.crossplane.io_providers.yaml v1

# The hcloud provider's ProviderConfig (hcloud.crossplane.io/v1beta1). The
# catalog installs xpkg.upbound.io/crossplane-contrib/provider-hcloud:v0.4.0,
# whose source could not be read when these schemas were made; this is the
# same group/version from an Upjet-generated provider-hcloud, whose
# ProviderConfig is the upjet-provider-template one. Point it at the real
# source when it is known.
upstream transacid/provider-hcloud 72bc48fd9c70ff61a59da295e9009fdcf48ef7de \
  package/crds/hcloud.crossplane.io_providerconfigs.yaml v1beta1 \
  --note "Substitute source: the ProviderConfig of transacid/provider-hcloud (same group and version, Upjet template); the catalog's package is crossplane-contrib/provider-hcloud:v0.4.0, whose source was not available."

# external-dns: DNSEndpoint.
upstream kubernetes-sigs/external-dns e5948dedcd34d43da0c671808b99f4e0af09f312 \
  config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml v1alpha1

# Hand-written (no upstream CRD exists): core kinds and kustomize's own file.
"$convert" --version v1 --repository kubernetes/api --path "core/v1/types.go (Namespace, NamespaceSpec)" \
  --ref "Kubernetes API v1.31" \
  --note "Hand-written from the Kubernetes API reference: the converter's input is schemas/rendered/handwritten/namespace.v1.yaml." \
  --out-dir "$here" "$here/handwritten/namespace.v1.yaml"
"$convert" --version v1 --repository kubernetes/api --path "core/v1/types.go (ConfigMap)" \
  --ref "Kubernetes API v1.31" \
  --note "Hand-written from the Kubernetes API reference: the converter's input is schemas/rendered/handwritten/configmap.v1.yaml." \
  --out-dir "$here" "$here/handwritten/configmap.v1.yaml"
"$convert" --version v1beta1 --repository kubernetes-sigs/kustomize --path "api/types/kustomization.go" \
  --ref "kustomize v5 (hand-written field list)" \
  --note "Hand-written, small: kustomize publishes no schema; the converter's input is schemas/rendered/handwritten/kustomization.v1beta1.yaml. secretGenerator is refused: rendered output never produces a Secret." \
  --out-dir "$here" "$here/handwritten/kustomization.v1beta1.yaml"
