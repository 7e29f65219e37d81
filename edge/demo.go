package edge

import "github.com/targetflow/targetflow/internal/demo"

// DemoArtifact returns the rules artifact of targetflow's bundled demo site
// (client code "targetflow-demo"; the README's "bundled demo artifact"
// lists its mboxes and views), a fresh copy the caller may keep: to try
// the edge, and clients against it, without an artifact of one's own.
//
//	s, err := edge.New(edge.DemoArtifact())
func DemoArtifact() []byte { return demo.Artifact() }
