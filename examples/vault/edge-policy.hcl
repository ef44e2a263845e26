# Vault policy for edge agents: read the TLS private keys of the sites, and keep the
# certificates edge issues itself (below), nothing else.
#
# Keys live in the KV v2 engine mounted at "secret/", below "edge/": a site declaring
#   key: {mount: "secret", path: "edge/acme.example", field: "key"}
# is read at the API path secret/data/edge/acme.example (KV v2 inserts "data/").
# Change "secret" and "edge" here if your sites use another mount or prefix.
#
# For keys, agents never list, write or delete, and need no metadata: a pinned version is read with
# ?version=N on the same data path. Writing keys (edgectl keys put) is for operators, whose
# own policy needs "create" and "update" on the same path (and "read", to keep other fields).
path "secret/data/edge/*" {
  capabilities = ["read"]
}

# Basic-auth users: a route declaring
#   basic_auth: users: {mount: "secret", path: "edge-auth/staging"}
# has its users' password hashes read at secret/data/edge-auth/staging. They sit apart from
# the keys so that whoever manages users (edgectl auth set-user: read, create, update on
# this path) gets no access to TLS keys.
path "secret/data/edge-auth/*" {
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

# Issued certificates (sites declaring tls: {issuer: "..."}), kept below the agent's
# --issue-vault-prefix (default secret/edge). The agent that takes a name's lock orders the
# certificate and stores chain and key; every agent reads them. (Vault applies the most
# specific matching rule alone, so each rule repeats "read".) All writes are KV v2
# check-and-set, which needs "create" (first version) and "update" (later ones). Nothing is
# listed or deleted.
path "secret/data/edge/issued/*" {
  capabilities = ["read", "create", "update"]
}
# One lock per site: holder, expiry, fence, and the fleet's backoff after failures.
path "secret/data/edge/issue-locks/*" {
  capabilities = ["read", "create", "update"]
}
# ACME HTTP-01 and TLS-ALPN-01 key authorizations, so any agent the CA reaches answers.
path "secret/data/edge/acme-challenges/*" {
  capabilities = ["read", "create", "update"]
}
# The fleet's ACME account key per issuer: created once, then only read.
path "secret/data/edge/acme-accounts/*" {
  capabilities = ["read", "create"]
}
