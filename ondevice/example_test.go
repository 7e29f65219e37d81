package ondevice_test

import (
	"context"
	"fmt"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/ondevice"
)

// A tiny artifact: one A/B activity on mbox "hero", allocated 50/50.
const exampleArtifact = `{
  "version": "1.0.0",
  "globalMbox": "target-global-mbox",
  "responseTokens": ["activity.id", "experience.name"],
  "remoteMboxes": [], "remoteViews": [], "localViews": [],
  "localMboxes": ["hero"],
  "meta": {"clientCode": "acme", "environment": "production"},
  "rules": {
    "mboxes": {
      "hero": [
        {"ruleKey": "101", "meta": {"activity.id": 101, "experience.name": "A"},
         "condition": {"<": [{"var": "allocation"}, 50]},
         "consequence": {"name": "hero", "options": [{"type": "json", "content": {"banner": "A"}, "eventToken": "tokA"}]}},
        {"ruleKey": "101", "meta": {"activity.id": 101, "experience.name": "B"},
         "condition": {">=": [{"var": "allocation"}, 50]},
         "consequence": {"name": "hero", "options": [{"type": "json", "content": {"banner": "B"}, "eventToken": "tokB"}]}}
      ]
    },
    "views": {}
  }
}`

func Example() {
	ctx := context.Background()
	engine, err := ondevice.New(
		ondevice.WithClient("acme"),
		ondevice.WithArtifactPayload([]byte(exampleArtifact)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()

	decision, err := engine.Decide(ctx, &delivery.DeliveryRequest{
		ID:      &delivery.VisitorID{TntID: "visitor-1.28_0"},
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: "hero"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mbox := decision.Response.Execute.Mboxes[0]
	fmt.Println("allocation:", ondevice.Allocation("acme", 101, "visitor-1"))
	fmt.Println("content:", string(mbox.Options[0].Content))
	fmt.Println("experience:", mbox.Options[0].ResponseTokens["experience.name"])
	fmt.Println("notifications:", len(decision.Notifications), decision.Notifications[0].Tokens)
	// Output:
	// allocation: 11.02
	// content: {"banner":"A"}
	// experience: A
	// notifications: 1 [tokA]
}
