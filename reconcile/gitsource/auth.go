package gitsource

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Auth holds the credentials of a config repo. The zero value means none (a public
// repository over HTTPS, or a local path). Which fields apply depends on the URL's scheme:
// HTTP(S) URLs use Username/Password/Token, SSH URLs ("ssh://..." or "user@host:path") use
// SSHKeyFile and KnownHostsFile. Credentials never appear in errors or logs.
type Auth struct {
	// Username for HTTP basic auth. Empty with a Token means "git" (GitHub, GitLab and
	// Gitea accept any user name with a token).
	Username string
	// Password for HTTP basic auth.
	Password string
	// Token is an access token, sent as the basic auth password. It wins over Password.
	Token string

	// SSHKeyFile is the private key file (OpenSSH or PEM) for SSH URLs. Required for them.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile when it is encrypted.
	SSHKeyPassphrase string
	// KnownHostsFile lists the accepted SSH host keys (OpenSSH known_hosts format). Empty
	// means $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. A host
	// not listed, or listed with another key, is refused: there is no way to skip the check.
	KnownHostsFile string
}

// ErrAuth is returned (wrapped) when credentials cannot be used with a URL.
var ErrAuth = errors.New("reconcile: git credentials")

// method returns the go-git auth method for endpoint ep (parsed from rawURL, which errors
// name without credentials), or nil for none.
func (a Auth) method(ep *transport.Endpoint, rawURL string) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if a.SSHKeyFile != "" {
			return nil, fmt.Errorf("%w: an SSH key is configured but %s is an %s URL", ErrAuth, redactURL(rawURL), ep.Protocol)
		}
		switch {
		case a.Token != "":
			user := a.Username
			if user == "" {
				user = "git"
			}
			return &githttp.BasicAuth{Username: user, Password: a.Token}, nil
		case a.Username != "" || a.Password != "":
			return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
		}
		return nil, nil // credentials in the URL, if any, are used by go-git
	case "ssh":
		if a.SSHKeyFile == "" {
			return nil, fmt.Errorf("%w: %s is an SSH URL; an SSH key file is required", ErrAuth, redactURL(rawURL))
		}
		if a.Token != "" || a.Password != "" {
			return nil, fmt.Errorf("%w: a token or password is configured but %s is an SSH URL", ErrAuth, redactURL(rawURL))
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			// The parse error of a key never holds key material.
			return nil, fmt.Errorf("%w: ssh key %s: %w", ErrAuth, a.SSHKeyFile, err)
		}
		var files []string
		if a.KnownHostsFile != "" {
			if _, err := os.Stat(a.KnownHostsFile); err != nil {
				return nil, fmt.Errorf("%w: known hosts: %w", ErrAuth, err)
			}
			files = []string{a.KnownHostsFile}
		}
		db, err := gitssh.NewKnownHostsDb(files...)
		if err != nil {
			return nil, fmt.Errorf("%w: known hosts: %w", ErrAuth, err)
		}
		port := ep.Port
		if port == 0 {
			port = 22
		}
		keys.HostKeyCallback = db.HostKeyCallback()
		keys.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
		return keys, nil
	case "file", "git":
		if a != (Auth{}) {
			return nil, fmt.Errorf("%w: credentials are configured but %s (%s) takes none", ErrAuth, redactURL(rawURL), ep.Protocol)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%w: unsupported URL scheme %q", ErrAuth, ep.Protocol)
}

// redactURL removes credentials from a URL, for messages, status and the state dir: the
// user and query of an HTTP(S) URL, the password of any other.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		// A token may be the user name alone (https://TOKEN@host/...) or a query
		// parameter: neither is shown, logged or written to the state dir.
		u.User, u.RawQuery = nil, ""
		return u.String()
	}
	if u.User == nil {
		return raw
	}
	return u.Redacted()
}
