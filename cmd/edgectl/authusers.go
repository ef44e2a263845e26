package main

import "github.com/edgectl/edge/reconcile/keysource"

// usersSource is where the agent reads basic-auth users: Vault, when the keys come from
// Vault; none with a local key directory (sites with basic_auth then fail, saying so).
func usersSource(keys keysource.Source) keysource.UsersSource {
	if v, ok := keys.(*keysource.Vault); ok {
		return v
	}
	return nil
}
