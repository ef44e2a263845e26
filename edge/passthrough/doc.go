// Package passthrough is the data plane of passthrough sites, whose TLS the edge does not
// terminate: the upstream pool of a site (balancing, passive ejection, active TCP-connect
// health checks), the PROXY protocol v2 header, and the two-way copy (splice(2) between
// TCP sockets, half-close, idle timeout): event loops on Linux (Start, loop_linux.go;
// they may accept from a listener themselves, in turns: Acceptor),
// two goroutines per connection elsewhere and for connections that are not sockets
// (Pipe). Package edge decides which connections come here
// (by the SNI of their ClientHello) and owns their accounting.
package passthrough
