package issue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// TSIGSecretFromVault reads a TSIG secret, base64 text as servers print it, from field field
// of the KV v2 secret mount/path (latest version) and decodes it. Errors name
// mount/path#field, never the secret.
func TSIGSecretFromVault(ctx context.Context, client *vaultapi.Client, mount, path, field string) ([]byte, error) {
	ref := strings.Trim(mount, "/") + "/" + strings.Trim(path, "/") + "#" + field
	s, err := client.KVv2(strings.Trim(mount, "/")).Get(ctx, strings.Trim(path, "/"))
	if errors.Is(err, vaultapi.ErrSecretNotFound) {
		return nil, fmt.Errorf("TSIG secret %s: no such secret in vault", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("TSIG secret %s: %w", ref, err)
	}
	text, ok := s.Data[field].(string)
	if !ok {
		return nil, fmt.Errorf("TSIG secret %s: no such string field", ref)
	}
	b, err := DecodeTSIGSecret(text)
	if err != nil {
		return nil, fmt.Errorf("TSIG secret %s: %w", ref, err)
	}
	return b, nil
}
