package passwd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

func argon2idPHC(pw, salt string, m, t uint32, p uint8) string {
	sum := argon2.IDKey([]byte(pw), []byte(salt), t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString([]byte(salt)), base64.RawStdEncoding.EncodeToString(sum))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	bc, err := Hash([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{bc, argon2idPHC("s3cret", "saltsaltsalt", 1024, 1, 1)} {
		v, err := Parse(h)
		if err != nil {
			t.Fatalf("Parse(%.10s...): %v", h, err)
		}
		if !v.Verify([]byte("s3cret")) {
			t.Errorf("%.10s: right password refused", h)
		}
		if v.Verify([]byte("s3cre")) || v.Verify([]byte("")) || v.Verify([]byte(strings.Repeat("s", 100))) {
			t.Errorf("%.10s: wrong password accepted", h)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	costly, err := bcrypt.GenerateFromPassword([]byte("x"), 4)
	if err != nil {
		t.Fatal(err)
	}
	tooCostly := strings.Replace(string(costly), "$04$", "$31$", 1)
	for _, h := range []string{
		"", "plain", "{SHA}abc", "$1$md5crypt", tooCostly, "$2a$10$short",
		argon2idPHC("x", "saltsaltsalt", MaxArgon2Memory*2, 1, 1),
		argon2idPHC("x", "saltsaltsalt", 1024, 100, 1),
		argon2idPHC("x", "saltsaltsalt", 1024, 1, 64),
		"$argon2id$v=19$m=1024,t=1,p=1$!!$!!",
		"$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHQ",
	} {
		_, err := Parse(h)
		if !errors.Is(err, ErrBadHash) {
			t.Errorf("Parse(%q) = %v; want ErrBadHash", h, err)
			continue
		}
		if len(h) > 12 && strings.Contains(err.Error(), h[7:]) {
			t.Errorf("error %q shows the hash", err)
		}
	}
}
