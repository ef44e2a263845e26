# Vault policy for edge agents that get certificates from Vault's PKI secrets engine, added to
# edge-policy.hcl for an issuer declared as
#   issuers: internal: vault_pki: {mount: "pki", role: "edge"}
# The agent makes the key and a CSR and asks Vault to sign it: the key never leaves the agent,
# and the role (allowed domains, TTL) decides what Vault signs. One path per declared role.
path "pki/sign/edge" {
  capabilities = ["update"]
}
