package site_test

import (
	"fmt"
	"net/url"

	"github.com/edgectl/edge/edge/site"
)

// ExampleRoute_WithDefaults shows the defaults a route's zero values stand for.
func ExampleRoute_WithDefaults() {
	app, _ := url.Parse("http://127.0.0.1:3001")
	r := site.Route{Path: "/", Upstreams: []*url.URL{app}, HealthCheck: &site.HealthCheck{}}
	d := r.WithDefaults()
	fmt.Println("balance:", d.Balance)
	fmt.Printf("timeouts: connect %v, response %v, idle %v, body %v\n",
		d.Timeouts.Connect, d.Timeouts.Response, d.Timeouts.Idle, d.Timeouts.Body)
	fmt.Printf("health check: GET %s every %v, timeout %v\n",
		d.HealthCheck.Path, d.HealthCheck.Interval, d.HealthCheck.Timeout)
	fmt.Println("redirect status:", site.Redirect{To: "https://example.com"}.WithDefaults().Status)
	// Output:
	// balance: round_robin
	// timeouts: connect 5s, response 1m0s, idle 1m30s, body 1m0s
	// health check: GET / every 10s, timeout 2s
	// redirect status: 308
}
