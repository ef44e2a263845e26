// Package passwd checks passwords against the hashes of basic-auth users: bcrypt
// ("$2a$", "$2b$", "$2y$") and argon2id in PHC form ("$argon2id$v=19$m=..,t=..,p=..$salt$hash"),
// with the cost of a check bounded, so that a hash planted in Vault cannot make each
// request burn seconds of CPU or gigabytes of memory. Hash makes the bcrypt hashes edgectl
// writes.
//
// Hashes and passwords never appear in errors: an error says what is wrong with a hash (its
// kind, a cost out of bounds), not what it is.
package passwd

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds on the cost of one check.
const (
	// MaxBcryptCost is the highest bcrypt cost accepted: 2^12 rounds, about 0.25s of a core.
	MaxBcryptCost = 12
	// MaxArgon2Memory is the most memory (KiB) an argon2id hash may ask for: 64 MiB.
	MaxArgon2Memory = 64 * 1024
	// MaxArgon2Time is the most passes an argon2id hash may ask for.
	MaxArgon2Time = 10
	// MaxArgon2Threads is the most lanes an argon2id hash may ask for.
	MaxArgon2Threads = 16
	// DefaultBcryptCost is the cost Hash uses.
	DefaultBcryptCost = 10
)

// ErrBadHash is wrapped by the errors of Parse.
var ErrBadHash = errors.New("passwd: unusable password hash")

// Verifier checks passwords against one parsed hash. It is safe for concurrent use.
type Verifier interface {
	// Verify reports whether password matches, in time independent of where it differs.
	Verify(password []byte) bool
}

// Parse checks hash and returns its Verifier. The error, wrapping ErrBadHash, names the
// kind of hash and the bound it exceeds, never the hash.
func Parse(hash string) (Verifier, error) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, fmt.Errorf("%w: bcrypt hash does not parse", ErrBadHash)
		}
		if cost > MaxBcryptCost {
			return nil, fmt.Errorf("%w: bcrypt cost %d is above %d", ErrBadHash, cost, MaxBcryptCost)
		}
		return bcryptHash([]byte(hash)), nil
	case strings.HasPrefix(hash, "$argon2id$"):
		return parseArgon2id(hash)
	}
	return nil, fmt.Errorf("%w: not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash", ErrBadHash)
}

type bcryptHash []byte

func (h bcryptHash) Verify(password []byte) bool {
	if len(password) > 72 { // bcrypt refuses longer passwords
		return false
	}
	return bcrypt.CompareHashAndPassword(h, password) == nil
}

// argon2idHash is a parsed argon2id PHC string.
type argon2idHash struct {
	memory, time uint32
	threads      uint8
	salt, sum    []byte
}

// parseArgon2id parses "$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>" (unpadded base64).
func parseArgon2id(s string) (Verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, fmt.Errorf("%w: argon2id hash is not \"$argon2id$v=19$m=..,t=..,p=..$salt$hash\"", ErrBadHash)
	}
	var h argon2idHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: argon2id parameter %q is not a number", ErrBadHash, k)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				n = 255
			}
			h.threads = uint8(n)
		default:
			return nil, fmt.Errorf("%w: argon2id parameter %q is unknown", ErrBadHash, k)
		}
	}
	switch {
	case h.memory < 8 || h.memory > MaxArgon2Memory:
		return nil, fmt.Errorf("%w: argon2id memory m=%d KiB; want 8 to %d", ErrBadHash, h.memory, MaxArgon2Memory)
	case h.time < 1 || h.time > MaxArgon2Time:
		return nil, fmt.Errorf("%w: argon2id time t=%d; want 1 to %d", ErrBadHash, h.time, MaxArgon2Time)
	case h.threads < 1 || h.threads > MaxArgon2Threads:
		return nil, fmt.Errorf("%w: argon2id parallelism p=%d; want 1 to %d", ErrBadHash, h.threads, MaxArgon2Threads)
	}
	var err1, err2 error
	h.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	h.sum, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.sum) < 16 || len(h.sum) > 64 {
		return nil, fmt.Errorf("%w: argon2id salt or hash is not unpadded base64 of 8+ and 16 to 64 bytes", ErrBadHash)
	}
	return &h, nil
}

func (h *argon2idHash) Verify(password []byte) bool {
	sum := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.sum)))
	return subtle.ConstantTimeCompare(sum, h.sum) == 1
}

// Hash returns the bcrypt hash (DefaultBcryptCost) of password, at most 72 bytes.
func Hash(password []byte) (string, error) {
	if len(password) > 72 {
		return "", errors.New("passwd: a bcrypt password is at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword(password, DefaultBcryptCost)
	if err != nil {
		return "", fmt.Errorf("passwd: %w", err)
	}
	return string(h), nil
}
