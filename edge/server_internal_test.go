package edge

import (
	"errors"
	"net"
	"testing"
)

var errListenerBroke = errors.New("listener broke")

// brokenListener fails every Accept, as a listener whose socket went away.
type brokenListener struct{}

func (brokenListener) Accept() (net.Conn, error) { return nil, errListenerBroke }
func (brokenListener) Close() error              { return nil }
func (brokenListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// A server whose serving fails stops on its own, and Wait says why, though
// its context never ends (targetflow edge then exits).
func TestWaitReturnsWhenServingFails(t *testing.T) {
	t.Parallel()
	s, err := New(DemoArtifact())
	if err != nil {
		t.Fatal(err)
	}
	s.serve(t.Context(), brokenListener{})
	if err := s.Wait(); !errors.Is(err, errListenerBroke) {
		t.Fatalf("Wait: %v, want the listener's error", err)
	}
}
