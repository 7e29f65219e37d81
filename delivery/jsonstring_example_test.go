package delivery_test

import (
	"fmt"

	"github.com/targetflow/targetflow/delivery"
)

func ExampleAppendJSONString() {
	fmt.Println(string(delivery.AppendJSONString(nil, "say \"hi\"\n\u2028")))
	// Output: "say \"hi\"\n\u2028"
}
