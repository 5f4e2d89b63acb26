package local_test

import (
	"testing"

	"parak8s.dev/parak8s/runtime/local"
)

func TestPolicyCap(t *testing.T) {
	for _, tc := range []struct{ parallelism, n, want int }{
		{0, 0, 0},
		{0, 3, 3},
		{5, 3, 3},
		{2, 3, 2},
		{4, 0, 4},
		{4, -1, 4},
	} {
		p := local.Policy{Parallelism: tc.parallelism}
		p.Cap(tc.n)
		if p.Parallelism != tc.want {
			t.Errorf("Policy{Parallelism: %d}.Cap(%d) = %d, want %d", tc.parallelism, tc.n, p.Parallelism, tc.want)
		}
	}
}
