package target_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

func ExampleParseVisitorCookie() {
	// The AMCV_ cookie as a browser sends it.
	cookie := "-1124106680%7CMCIDTS%7C19000%7CMCMID%7C31817839174716582270412305427436433330" +
		"%7CMCAAMLH-1800000000%7C9%7CMCAAMB-1800000000%7CRKhpRz8krg2tLO6pguXWp5olkAcUniQYPHaMWWgdJ3xzPWQmdj0y" +
		"%7CMCOPTOUT-1800000000s%7CNONE%7CvVersion%7C5.2.0"
	c := target.ParseVisitorCookie(cookie, time.Unix(1_700_000_000, 0))
	fmt.Println(c.MarketingCloudVisitorID, c.AudienceManagerLocationHint, c.OptedOut)

	broken := target.ParseVisitorCookie("MCMID|42|MCAAMB|%E0%A4%A", time.Now())
	fmt.Println(broken.MarketingCloudVisitorID, broken.Malformed)
	// Output:
	// 31817839174716582270412305427436433330 9 false
	// 42 [field 3 "MCAAMB": bad percent escape or invalid UTF-8]
}

func ExampleVisitorCookieFromRequest() {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "AMCV_65453EA95574003E7F000101%40AdobeOrg=-1%7CMCMID%7C42")
	fmt.Println(target.VisitorCookieName("65453EA95574003E7F000101@AdobeOrg"))
	fmt.Println(target.VisitorCookieFromRequest(r, "65453EA95574003E7F000101@AdobeOrg"))
	// Output:
	// AMCV_65453EA95574003E7F000101@AdobeOrg
	// -1%7CMCMID%7C42
}

func ExampleVisitorState() {
	state := target.VisitorState{
		OrganizationID: "65453EA95574003E7F000101@AdobeOrg",
		CustomerIDs:    []delivery.CustomerID{{ID: "67312378756723456", IntegrationCode: "userid", AuthenticatedState: delivery.AuthAuthenticated}},
		SupplementalData: target.SupplementalDataState{
			Current: "5A4F9C2B1D3E6F70-0A1B2C3D4E5F6071", CurrentConsumers: []string{target.DefaultConsumerID},
		},
	}
	data, _ := json.Marshal(state) // what the Node.js SDK returns as visitorState
	fmt.Println(string(data))
	// Output:
	// {"65453EA95574003E7F000101@AdobeOrg":{"customerIDs":{"userid":{"id":"67312378756723456","authState":1}},"sdid":{"supplementalDataIDCurrent":"5A4F9C2B1D3E6F70-0A1B2C3D4E5F6071","supplementalDataIDCurrentConsumed":{"payload:target-global-mbox":true},"supplementalDataIDLastConsumed":{}}}}
}

func ExamplePageScript() {
	resp := &target.Response{ // as GetOffers returns it
		Request: &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: "home"}}}},
		Response: &delivery.DeliveryResponse{Status: 200, Prefetch: &delivery.PrefetchResponse{Views: []delivery.View{{Name: "home",
			Options: []delivery.Option{{Type: delivery.OptionHTML, Content: json.RawMessage(`"</script><b>hi</b>"`), EventToken: "t1"}}}}}},
		VisitorState: target.VisitorState{OrganizationID: "ORG@AdobeOrg",
			SupplementalData: target.SupplementalDataState{Current: "A-B", CurrentConsumers: []string{"target-global-mbox"}}},
	}
	script := target.NewPageScript(resp)
	script.Nonce = "r4nd0m"
	os.Stdout.WriteString(script.HTML() + "\n")
	// Output:
	// <script nonce="r4nd0m">
	// (function (s) {
	//   s.overrideMboxEdgeServer = true;
	//   s.serverState = {"request":{"prefetch":{"views":[{"name":"home"}]}},"response":{"status":200,"prefetch":{"views":[{"name":"home","options":[{"type":"html","content":"\u003c/script\u003e\u003cb\u003ehi\u003c/b\u003e","eventToken":"t1"}]}]}}};
	// })(window.targetGlobalSettings = window.targetGlobalSettings || {});
	// if (window.Visitor && window.Visitor.getInstance) {
	//   window.Visitor.getInstance("ORG@AdobeOrg", {serverState: {"ORG@AdobeOrg":{"sdid":{"supplementalDataIDCurrent":"A-B","supplementalDataIDCurrentConsumed":{"payload:target-global-mbox":true},"supplementalDataIDLastConsumed":{}}}}});
	// }
	// </script>
}
