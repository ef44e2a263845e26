package keysource

import (
	"context"

	"github.com/hashicorp/vault/api"
)

// Do runs op with an authenticated client under the source's concurrency cap, retries and
// re-authentication (as Fetch and Put do), for other users of the same Vault login: the
// issued certificates' store (reconcile/issue).
func (v *Vault) Do(ctx context.Context, op func(*api.Client) error) error {
	return v.withClient(ctx, op)
}
