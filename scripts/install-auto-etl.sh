#!/usr/bin/env bash
# Installs a prebuilt auto-etl from the project's releases, verifying its
# SHA-256 checksum; falls back to `cargo install --locked` when there is no
# binary for this platform or version. Used by the composite action
# (action.yml); runnable anywhere.
#
# Environment:
#   AUTO_ETL_VERSION       "latest" (default) or a version: 0.2.0 or v0.2.0
#   AUTO_ETL_RELEASES      base URL of the releases (default
#                          https://github.com/$AUTO_ETL_REPOSITORY/releases);
#                          file:// works too
#   AUTO_ETL_REPOSITORY    owner/name (default: GITHUB_ACTION_REPOSITORY)
#   AUTO_ETL_TARGET        Rust target triple (default: from uname)
#   AUTO_ETL_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
#   AUTO_ETL_CARGO         the cargo command for the fallback (default: cargo)
#   AUTO_ETL_SOURCE        a checkout of auto-etl for the fallback to build
#                          (the action passes its own: the version it is);
#                          without it the fallback builds from crates.io
#
# Asset layout (what .github/workflows/release.yml publishes):
#   <base>/download/v<version>/auto-etl-<target>.tar.gz and .tar.gz.sha256
#   <base>/latest/download/... for "latest"
#
# Exit codes: 0 installed, 1 checksum mismatch (never falls back: a wrong
# checksum is not a missing binary), 2 no binary and no way to build one.
set -euo pipefail

version="${AUTO_ETL_VERSION:-latest}"
version="${version#v}"
repo="${AUTO_ETL_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}"
base="${AUTO_ETL_RELEASES:-}"
if [[ -z $base && -n $repo ]]; then
  base="https://github.com/$repo/releases"
fi
dest="${AUTO_ETL_INSTALL_DIR:-$HOME/.local/bin}"
cargo_cmd="${AUTO_ETL_CARGO:-cargo}"

target="${AUTO_ETL_TARGET:-}"
if [[ -z $target ]]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *) target="" ;;
  esac
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

publish_path() {
  mkdir -p "$dest"
  if [[ -n ${GITHUB_PATH:-} ]]; then
    echo "$dest" >>"$GITHUB_PATH"
  fi
}

# Downloads the release binary into $dest; returns 3 when there is none.
from_release() {
  [[ -n $base && -n $target ]] || return 3
  local asset="auto-etl-$target.tar.gz" url
  if [[ $version == latest ]]; then
    url="$base/latest/download/$asset"
  else
    url="$base/download/v$version/$asset"
  fi
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" RETURN
  echo "auto-etl: downloading $url"
  if ! curl -fsSL --retry 3 -o "$tmp/$asset" "$url" ||
    ! curl -fsSL --retry 3 -o "$tmp/$asset.sha256" "$url.sha256"; then
    echo "auto-etl: no release binary at $url"
    return 3
  fi
  local want got
  want="$(cut -d' ' -f1 <"$tmp/$asset.sha256")"
  got="$(sha256_of "$tmp/$asset")"
  if [[ -z $want || $want != "$got" ]]; then
    echo "::error::auto-etl: checksum mismatch for $asset: expected ${want:-nothing}, got $got" >&2
    exit 1
  fi
  tar -xzf "$tmp/$asset" -C "$tmp"
  publish_path
  install -m 0755 "$tmp/auto-etl" "$dest/auto-etl"
  echo "auto-etl: installed $asset (sha256 $got) to $dest"
}

from_source() {
  if ! command -v "${cargo_cmd%% *}" >/dev/null 2>&1; then
    echo "::error::auto-etl: no release binary for ${target:-this platform} and no cargo to build one" >&2
    exit 2
  fi
  local root
  root="$(mktemp -d)"
  local args=(install --locked --root "$root")
  if [[ -n ${AUTO_ETL_SOURCE:-} && -f ${AUTO_ETL_SOURCE:-}/Cargo.toml ]]; then
    args+=(--path "$AUTO_ETL_SOURCE")
  else
    args+=(auto-etl)
    if [[ $version != latest ]]; then
      args+=(--version "$version")
    fi
  fi
  echo "auto-etl: building: $cargo_cmd ${args[*]}"
  # shellcheck disable=SC2086 # AUTO_ETL_CARGO may carry arguments
  $cargo_cmd "${args[@]}"
  publish_path
  install -m 0755 "$root/bin/auto-etl" "$dest/auto-etl"
  rm -rf "$root"
}

if from_release; then
  :
else
  status=$?
  [[ $status -eq 3 ]] || exit "$status"
  from_source
fi
"$dest/auto-etl" --version
