package standin_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/targetflow/targetflow/internal/bench/standin"
)

// The bare loop against the stand-in: every visitor answered.
func Example() {
	srv := httptest.NewServer(standin.Handler(0))
	defer srv.Close()
	res, err := standin.Loop(context.Background(), standin.LoopConfig{
		BaseURL: srv.URL, OrganizationID: "ACME@AdobeOrg", Visitors: 100, Concurrency: 8,
	})
	fmt.Println(res.OK, res.Failed, err)
	// Output: 100 0 <nil>
}
