// Package fleet reads the /status of many agents at once and says whether the fleet has
// converged: which commit each agent serves, how many agents serve each commit, and which
// agents lag behind, reject a revision or cannot be reached. `edgectl status --fleet` prints
// it (a deploy pipeline waits on it after a merge) and Handler serves it as JSON for the
// admin page's fleet panel.
//
// # Addresses
//
// An agent's admin address is written as one of:
//
//	host:port                 plain HTTP (the admin listener's default)
//	http://host:port          the same
//	https://host:port         TLS
//	dns:host:port             every A and AAAA record of host, each asked over plain HTTP
//	dns:https://host:port     the same over TLS, each certificate verified for host
//
// The port defaults to 9443 (the admin listener's default port). A peer list (Peers) mixes
// addresses with files holding them, one per line, blank lines and # comments ignored; files
// are read and dns: names resolved again on every check, so a list kept by configuration
// management or a DNS name following a scaling group stays current.
//
// # Convergence
//
// The target commit is the one asked for (a full hash or a prefix), or else the newest commit
// any agent serves: the latest committer time (reconcile.ServingStatus.CommitTime), ties
// broken by which commit some agent applied last. An agent is current when it serves the
// target, lagging when it serves another commit or none, rejecting when its status holds a
// rejected revision, unreachable when its status could not be read. The fleet has converged
// when every agent is current.
//
// Fleet status observes; it never coordinates. No agent acts on what its peers report (the
// design's invariant that agents coordinate only through git and Vault stands).
package fleet
