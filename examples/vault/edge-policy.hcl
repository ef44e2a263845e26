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
