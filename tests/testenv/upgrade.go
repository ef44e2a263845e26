package testenv

import "net/http"

// EchoUpgrade is an app that switches every request's connection to the "echo" protocol
// (101 Switching Protocols, as a WebSocket handshake does) and answers each line with
// "echo <line>" until the client closes the connection.
func EchoUpgrade(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Upgrade", "echo")
	w.WriteHeader(http.StatusSwitchingProtocols)
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString("echo " + line)
		rw.Flush()
	}
}
