package delivery_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// A request for two mboxes, encoded as the Delivery API expects it.
func ExampleDeliveryRequest() {
	req := delivery.DeliveryRequest{
		ID:      &delivery.VisitorID{TntID: "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
			{Index: 0, Name: "hero"},
			{Index: 1, Name: "cart", Parameters: delivery.Parameters{"items": "3"}},
		}},
	}
	out, _ := json.Marshal(req)
	fmt.Println(string(out))
	// Output:
	// {"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1,"name":"cart","parameters":{"items":"3"}}]}}
}

// Offer content stays raw JSON: decode it into whatever shape the offer has.
func ExampleOption() {
	body := `{"status":200,"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"json","content":{"headline":"Summer sale","discount":15}}]}]}}`
	var resp delivery.DeliveryResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		panic(err)
	}
	var offer struct {
		Headline string `json:"headline"`
		Discount int    `json:"discount"`
	}
	opt := resp.Execute.Mboxes[0].Options[0]
	if err := json.Unmarshal(opt.Content, &offer); err != nil {
		panic(err)
	}
	fmt.Println(opt.Type, offer.Headline, offer.Discount)
	// Output:
	// json Summer sale 15
}

// An answer decoded as it is read; what is not a Delivery API answer is an
// error saying what it is.
func ExampleReadResponse() {
	answer, err := delivery.ReadResponse(strings.NewReader(
		`{"status":200,"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"html","content":"<b>Hi</b>"}]}]}}`))
	fmt.Println(answer.Execute.Mboxes[0].Name, string(answer.Execute.Mboxes[0].Options[0].Content), err)
	for _, body := range []string{``, `null`, `<html>Bad gateway</html>`, `{"message":"ok"}`} {
		_, err := delivery.ReadResponse(strings.NewReader(body))
		fmt.Println(err)
	}
	// Output:
	// hero "<b>Hi</b>" <nil>
	// answer: empty, not a Delivery API response object
	// answer: null, not a Delivery API response object
	// answer: not JSON: jsontext: invalid character '<' at start of value
	// answer: an object with no member of a Delivery API response
}
