package obfuscation_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/targetflow/targetflow/internal/obfuscation"
)

func Example() {
	const org = "0123456789ABCDEF01234567@AdobeOrg"
	key := strings.Repeat("K", obfuscation.KeyLength) // use NewKey(nil) in real code
	bin, err := obfuscation.Encode(org, key, []byte(`{"version":"1.0.0"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(bin[:8]), len(bin)-obfuscation.HeaderLength)

	plain, err := obfuscation.Decode(org, bin)
	fmt.Println(string(plain), err)

	_, err = obfuscation.Decode("FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg", bin)
	fmt.Println(errors.Is(err, obfuscation.ErrWrongKey))
	// Output:
	// ATOD:001 19
	// {"version":"1.0.0"} <nil>
	// true
}
