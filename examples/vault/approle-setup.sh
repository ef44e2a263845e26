#!/bin/sh
# approle-setup.sh: give edge agents an AppRole that can read the site keys only.
#
# Run as a Vault operator (VAULT_ADDR and VAULT_TOKEN set, `vault` on PATH):
#
#   ./approle-setup.sh [SECRET_ID_FILE]
#
# It enables the AppRole auth method (if needed), writes the policy edge-policy.hcl beside
# this script as "edge-keys", creates (or updates) the role "edge" bound to it, prints the
# role_id on stdout, and writes a new secret_id to SECRET_ID_FILE (default ./edge-secret-id,
# mode 0600). Copy both to the edge server and give them to the agent's Vault AppRole
# settings (role_id, secret_id file; see keysource.VaultConfig).
#
# Tokens live 1h and are renewed up to 24h, after which the agent logs in again.
# Environment overrides: EDGE_ROLE (role name), EDGE_POLICY (policy name),
# EDGE_TOKEN_TTL, EDGE_TOKEN_MAX_TTL, APPROLE_MOUNT.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
secret_id_file=${1:-./edge-secret-id}
role=${EDGE_ROLE:-edge}
policy=${EDGE_POLICY:-edge-keys}
mount=${APPROLE_MOUNT:-approle}
ttl=${EDGE_TOKEN_TTL:-1h}
max_ttl=${EDGE_TOKEN_MAX_TTL:-24h}

: "${VAULT_ADDR:?set VAULT_ADDR}"
command -v vault >/dev/null 2>&1 || { echo "approle-setup.sh: vault CLI not on PATH" >&2; exit 2; }

if ! vault auth list -format=json | grep -q "\"$mount/\""; then
	vault auth enable -path="$mount" approle >/dev/null
	echo "enabled approle auth at $mount/" >&2
fi

vault policy write "$policy" "$here/edge-policy.hcl" >/dev/null
echo "wrote policy $policy" >&2

vault write "auth/$mount/role/$role" \
	token_policies="$policy" \
	token_ttl="$ttl" \
	token_max_ttl="$max_ttl" \
	secret_id_ttl=0 \
	token_type=service >/dev/null
echo "wrote role $role (token_ttl=$ttl, token_max_ttl=$max_ttl)" >&2

umask 077
vault write -f -field=secret_id "auth/$mount/role/$role/secret-id" >"$secret_id_file"
echo "wrote a new secret_id to $secret_id_file" >&2

vault read -field=role_id "auth/$mount/role/$role/role-id"
echo
