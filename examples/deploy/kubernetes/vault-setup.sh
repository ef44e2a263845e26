#!/bin/sh
# vault-setup.sh: let edge pods (service account edge/edge) log in to Vault with Kubernetes
# auth and read the site keys, nothing else.
#
# Run once as a Vault operator (VAULT_ADDR and VAULT_TOKEN set, `vault` on PATH):
#
#   K8S_HOST=https://k8s-api.example.com:6443 K8S_CA_CERT=./k8s-ca.pem ./vault-setup.sh
#
# It enables the Kubernetes auth method (if needed), points it at the cluster's API server
# (Vault checks each pod's JWT with the TokenReview API, using the pod's own JWT: see the
# ClusterRoleBinding in namespace.yaml), writes ../../vault/edge-policy.hcl as "edge-keys" and
# creates the role "edge" bound to that service account, that namespace and the audience
# "vault" of the projected token in daemonset.yaml.
#
# Environment overrides: EDGE_ROLE, EDGE_POLICY, EDGE_NAMESPACE, EDGE_SERVICE_ACCOUNT,
# EDGE_AUDIENCE, EDGE_TOKEN_TTL, EDGE_TOKEN_MAX_TTL, K8S_AUTH_MOUNT.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
role=${EDGE_ROLE:-edge}
policy=${EDGE_POLICY:-edge-keys}
namespace=${EDGE_NAMESPACE:-edge}
service_account=${EDGE_SERVICE_ACCOUNT:-edge}
audience=${EDGE_AUDIENCE:-vault}
ttl=${EDGE_TOKEN_TTL:-1h}
max_ttl=${EDGE_TOKEN_MAX_TTL:-24h}
mount=${K8S_AUTH_MOUNT:-kubernetes}

: "${VAULT_ADDR:?set VAULT_ADDR}"
: "${K8S_HOST:?set K8S_HOST to the Kubernetes API server URL}"
command -v vault >/dev/null 2>&1 || { echo "vault-setup.sh: vault CLI not on PATH" >&2; exit 2; }

if ! vault auth list -format=json | grep -q "\"$mount/\""; then
	vault auth enable -path="$mount" kubernetes >/dev/null
	echo "enabled kubernetes auth at $mount/" >&2
fi

# Vault runs outside the cluster here: disable_local_ca_jwt stops it looking for an in-pod
# service-account token and CA. Without K8S_CA_CERT, the API server's certificate must be
# trusted by Vault's system roots.
if [ -n "${K8S_CA_CERT:-}" ]; then
	vault write "auth/$mount/config" kubernetes_host="$K8S_HOST" disable_local_ca_jwt=true \
		kubernetes_ca_cert=@"$K8S_CA_CERT" >/dev/null
else
	vault write "auth/$mount/config" kubernetes_host="$K8S_HOST" disable_local_ca_jwt=true >/dev/null
fi
echo "configured auth/$mount for $K8S_HOST" >&2

vault policy write "$policy" "$here/../../vault/edge-policy.hcl" >/dev/null
echo "wrote policy $policy" >&2

vault write "auth/$mount/role/$role" \
	bound_service_account_names="$service_account" \
	bound_service_account_namespaces="$namespace" \
	audience="$audience" \
	token_policies="$policy" \
	token_ttl="$ttl" \
	token_max_ttl="$max_ttl" \
	token_type=service >/dev/null
echo "wrote role $role for $namespace/$service_account (audience $audience)" >&2
