// Package retry is targetflow's one way of retrying: bounded attempts with
// exponential backoff and jitter (github.com/cenkalti/backoff/v5's
// ExponentialBackOff), honouring a server's Retry-After, cancelled by the
// context. The pipeline's Target stages retry calls with it, and the
// on-device engine's artifact downloads can (Policy.Do with their own
// retryable test).
package retry
