# Vault policy for edge agents: read the TLS private keys of the sites, nothing else.
#
# Keys live in the KV v2 engine mounted at "secret/", below "edge/": a site declaring
#   key: {mount: "secret", path: "edge/acme.example", field: "key"}
# is read at the API path secret/data/edge/acme.example (KV v2 inserts "data/").
# Change "secret" and "edge" here if your sites use another mount or prefix.
#
# Agents never list, write or delete, and need no metadata: a pinned version is read with
# ?version=N on the same data path. Writing keys (edgectl keys put) is for operators, whose
# own policy needs "create" and "update" on the same path (and "read", to keep other fields).
path "secret/data/edge/*" {
  capabilities = ["read"]
}

# Fleet-wide TLS session resumption (agent flag --session-tickets, on with Vault): the fleet's
# session ticket keys live in this one secret. Every agent reads it; the one whose
# check-and-set write lands first rotates it (--session-ticket-rotation, 6h); each reads its
# metadata once per rotation to see whether another agent did. Change both paths with
# --session-ticket-path; remove them with --session-tickets=off.
path "secret/data/edge/_fleet/session-tickets" {
  capabilities = ["read", "create", "update"]
}
path "secret/metadata/edge/_fleet/session-tickets" {
  capabilities = ["read"]
}
