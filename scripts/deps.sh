# Sourced by the scripts beside it: installs what building and testing
# ferromq needs, only when it is missing.

# Runs a command as root (directly, or through sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
# Installs the Debian packages named that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# RocksDB's bindings are generated with bindgen, which needs libclang.
ensure_build_deps() {
  ensure_apt libclang-dev
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferromq/target}"
}

# The process-level suites drive the broker with stomp.py under pytest;
# the cluster suite also reads ZooKeeper with kazoo. Installs each
# requirements file whose modules are not all importable yet.
ensure_test_deps() {
  local req modules
  for req in "$@"; do
    modules=stomp,pytest
    grep -q '^kazoo' "$req" && modules="$modules,kazoo"
    if ! python3 -c "import $modules" 2>/dev/null; then
      echo "installing Python test requirements from $req" >&2
      python3 -m pip install -q --disable-pip-version-check -r "$req"
    fi
  done
}

# The cluster suite runs a real ZooKeeper ensemble (Debian's package, with
# its JRE) and cuts links between nodes with iptables.
ensure_cluster_deps() {
  ensure_apt zookeeper iptables
}
