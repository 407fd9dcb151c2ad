# shellcheck shell=bash
# Shared by build, up, down and smoke: pinned versions and where binaries live.
# Sourced, not run.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this

# Kubernetes: the newest 1.34 patch the Go module proxy serves for
# k8s.io/kubernetes (v1.34.5+ are refused there); staging modules at the
# matching v0.34.x.
K8S_VERSION=v1.34.4
K8S_STAGING_VERSION=v0.34.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0

CP_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl helm)

FERROMQ_CACHE=${FERROMQ_CACHE:-$HOME/.cache/ferromq}
CP_CACHE_BIN=$FERROMQ_CACHE/k8s/$K8S_VERSION/bin

# The version each binary is built at (recorded next to it as .NAME.version).
cp_version_of() {
  case $1 in
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    *) echo "$K8S_VERSION" ;;
  esac
}

# Prints the path of binary $1: from KUBEBUILDER_ASSETS when it has it,
# else from the cache when the cached one is of the pinned version.
# Returns 1 when neither has it.
cp_find_bin() {
  local name=$1
  if [[ -n ${KUBEBUILDER_ASSETS:-} && -x $KUBEBUILDER_ASSETS/$name ]]; then
    echo "$KUBEBUILDER_ASSETS/$name"
    return 0
  fi
  if [[ -x $CP_CACHE_BIN/$name && -f $CP_CACHE_BIN/.$name.version ]] &&
     [[ $(cat "$CP_CACHE_BIN/.$name.version") == "$(cp_version_of "$name")" ]]; then
    echo "$CP_CACHE_BIN/$name"
    return 0
  fi
  return 1
}

cp_log() { printf '[control-plane %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
cp_die() { cp_log "ERROR: $*"; exit 1; }
