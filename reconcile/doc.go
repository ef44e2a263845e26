// Package reconcile is the agent loop: the stage of the pipeline that turns revisions of the
// config repo into what the edge serves, and says how that went.
//
//	gitsource (git -> Revision) -> schema (files -> sites) -> reconcile (sites + keys -> edge.Site) -> edge (serve)
//
// An Agent polls a Source (gitsource.Source) for the newest Revision, has a Loader
// (schema.Loader) validate its files, reads each site's private key through a
// keysource.Source (Vault or a key directory) and compiles each site with its key
// (CompileSite), then hands the sites to a Publisher (edge.Server), which swaps them in as one
// snapshot. Each reconcile is one Step: a poll with a PollOutcome, and, when something
// changed, a plan (the sites to serve and what status says of each) carried from compile to
// publish. What happened is published as an immutable Status value (served on /status by
// StatusHandler) and as Prometheus metrics.
//
// The agent never serves an invalid revision: the previous snapshot keeps serving and the
// rejection is in Status. One site's trouble stays that site's: a site whose key cannot be
// read keeps its last good version (SiteStale) or stays out (SiteFailed) while the others
// move on. With a StateStore, the accepted revision survives a restart.
//
// Beside the loop, a TicketSync shares the TLS session ticket keys of the fleet through
// Vault (one secret, rotated by whichever agent's check-and-set lands first), so a client
// resumes its session on any agent.
package reconcile
