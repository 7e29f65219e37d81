// Package edgeserver starts targetflow's local Delivery API edge for tests,
// as net/http/httptest starts servers: on loopback, shut down and waited
// for when the test ends. It needs nothing of package target, so that
// target's own tests use it; internal/edgetest adds a client.
package edgeserver
