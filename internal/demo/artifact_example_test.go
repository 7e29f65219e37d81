package demo_test

import (
	"encoding/json"
	"fmt"

	"github.com/targetflow/targetflow/internal/demo"
)

func ExampleArtifact() {
	var artifact struct {
		Meta struct {
			ClientCode string `json:"clientCode"`
		} `json:"meta"`
		RemoteMboxes []string `json:"remoteMboxes"`
		LocalViews   []string `json:"localViews"`
	}
	if err := json.Unmarshal(demo.Artifact(), &artifact); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(artifact.Meta.ClientCode == demo.Client)
	fmt.Println(artifact.RemoteMboxes, artifact.LocalViews)
	// Output:
	// true
	// [recommendations] [cart home]
}
