// Package standin is an independent Delivery API stand-in and a bare
// net/http client loop, the two ends of the client-CPU measurement in the
// README's performance section (issue 15, item 7).
//
// Handler answers every POST with one fixed, realistic 2-mbox answer (the
// demo site's hero and cart) after a latency, without deciding anything:
// unlike targetflow's own edge it costs next to nothing, so the client's
// process CPU is the client's alone, and it shares no code with the client
// that could hide a cost on both sides.
//
// Loop is the floor the client is compared with: net/http posting requests
// of the same shape and size as targetflow's (ids, context, Analytics, two
// mboxes, a telemetry entry) from a number of goroutines, reading each answer
// to its end and doing nothing else: no answer decoding, no cookies, no
// telemetry, no output. With LoopConfig.Timeout and LoopConfig.Decode it is
// the floor of what targetflow run cannot skip beyond net/http: a timeout
// context per call, and every answer decoded by the client's own decoder
// (delivery.DecodeResponse), so that what the client spends beyond that
// floor is its own.
//
// Visit and Measure are what the loop commands share: visitors called from
// a number of goroutines and counted, and the line a command prints of
// them (the rate and the process CPU per visitor).
//
// The commands internal/bench/cmd/standin, internal/bench/cmd/bareloop and
// internal/bench/cmd/clientloop run them as processes of their own, and
// internal/bench/clientcpu.sh alternates the bare loop, the client loop and
// targetflow run against one stand-in.
package standin
