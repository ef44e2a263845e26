package passthrough

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"
)

// The expected bytes are written out from the spec's layout (section 2.2): signature,
// ver_cmd, fam, big-endian length, then src addr, dst addr, src port, dst port.
func TestAppendProxyV2(t *testing.T) {
	sig := "0d0a0d0a000d0a515549540a"
	cases := []struct {
		name          string
		client, local net.Addr
		want          string
	}{
		{"tcp4", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 51234}, &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 443},
			sig + "21" + "11" + "000c" + "c0000201" + "c6336407" + "c822" + "01bb"},
		{"tcp6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 8443},
			sig + "21" + "21" + "0024" + "20010db8000000000000000000000001" + "20010db8000000000000000000000002" + "0001" + "20fb"},
		{"mixed families", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443},
			sig + "20" + "00" + "0000"},
		{"not tcp", &net.UnixAddr{Name: "x"}, &net.UnixAddr{Name: "y"}, sig + "20" + "00" + "0000"},
	}
	for _, c := range cases {
		got := AppendProxyV2([]byte("prefix"), c.client, c.local)
		want, _ := hex.DecodeString(c.want)
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%s:\n got %x\nwant prefix+%x", c.name, got, want)
		}
	}
}
