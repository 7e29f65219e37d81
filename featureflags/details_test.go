package featureflags

import (
	"fmt"
	"sync"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"
)

// TestDetailCache: keys that share their ids but differ in a name or the
// method each keep their own detail; a key is built once; past maxDetails
// details are built per call and the cache stops growing; concurrent
// misses on one id pair lose no key's detail.
func TestDetailCache(t *testing.T) {
	t.Parallel()
	base := detailKey{present: 63, activityID: 7, experienceID: 1, activityName: "a", activityType: "ab", experienceName: "e", method: "on-device"}
	variants := map[string]detailKey{"base": base}
	for name, change := range map[string]func(k *detailKey){
		"activity name":   func(k *detailKey) { k.activityName = "b" },
		"experience name": func(k *detailKey) { k.experienceName = "f" },
		"type":            func(k *detailKey) { k.activityType = "xt" },
		"method":          func(k *detailKey) { k.method = "server-side" },
		"method token":    func(k *detailKey) { k.methodToken = "hybrid" },
		"present":         func(k *detailKey) { k.present = 31 },
	} {
		k := base
		change(&k)
		variants[name] = k
	}
	var c detailCache
	builds := map[detailKey]int{}
	for range 3 {
		for name, k := range variants {
			d := c.get(k, func() openfeature.ProviderResolutionDetail {
				builds[k]++
				return openfeature.ProviderResolutionDetail{Variant: name}
			})
			if d.Variant != name {
				t.Fatalf("%s: got the detail of %q", name, d.Variant)
			}
		}
	}
	for name, k := range variants {
		if builds[k] != 1 {
			t.Errorf("%s: built %d times, want once", name, builds[k])
		}
	}

	full := new(detailCache)
	for i := range maxDetails + 10 {
		full.get(detailKey{activityID: int64(i)}, func() openfeature.ProviderResolutionDetail { return openfeature.ProviderResolutionDetail{} })
	}
	if n := full.count.Load(); n != maxDetails {
		t.Errorf("cache holds %d details, want at most %d", n, maxDetails)
	}
	rebuilt := false
	full.get(detailKey{activityID: maxDetails + 5}, func() openfeature.ProviderResolutionDetail {
		rebuilt = true
		return openfeature.ProviderResolutionDetail{}
	})
	if !rebuilt {
		t.Error("a key past the bound was not built again")
	}

	racy := new(detailCache)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := detailKey{activityID: 1, activityName: fmt.Sprint(g, "/", i%5)}
				if d := racy.get(k, func() openfeature.ProviderResolutionDetail {
					return openfeature.ProviderResolutionDetail{Variant: k.activityName}
				}); d.Variant != k.activityName {
					t.Errorf("%s: got the detail of %q", k.activityName, d.Variant)
				}
			}
		})
	}
	wg.Wait()
}
