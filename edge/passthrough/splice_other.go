//go:build !linux

package passthrough

// splicer: none here (rawPair is never ok).
type splicer struct{}

func (*splicer) splice(max int64) (int64, error) { panic("passthrough: no splicer") }

// rawPair: no splicers here.
func rawPair(client, upstream any) (toUp, toClient *splicer, ok bool) { return nil, nil, false }
