// Package site is the one description of what a site is: its host names, its routes to
// upstreams (balancing, weights, sticky sessions, timeouts, retries, health checks), its
// redirects and its response headers, with the default of every zero value documented and defined here, once.
//
// Package schema produces these values from the config repo (validated, upstream URLs
// parsed once); package edge serves them, and edge/proxy serves their routes. The
// compiler (reconcile.CompileSite) adds only what the data plane needs beside them: the
// certificates with their private keys. Nothing copies a Site field by field: a new route
// option is a field here, produced by schema and read by the proxy.
//
// # Defaults
//
// A zero value stands for a default, documented on its field and defined here as a
// constant (DefaultConnectTimeout, DefaultCheckInterval, DefaultRedirectStatus, ...).
// The WithDefaults methods of Route, Timeouts, HealthCheck and Redirect apply them to a
// copy; the data plane calls them when it prepares a route or redirect. Schema leaves
// unset timeouts and health-check intervals at zero, so a plan shows what the repo
// declares (its CUE schema writes a few of the same defaults out, e.g. balance
// "round_robin" and redirect status 308).
//
// The package imports only the standard library. Its values are plain data: once handed
// to the data plane they are shared and never changed.
package site
