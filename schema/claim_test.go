package schema

import (
	"path"
	"strings"
	"testing"
)

func TestClaim(t *testing.T) {
	for _, tc := range []struct {
		in, claim, sub string
		ok             bool
		err            string
	}{
		{"/data/mitdb", "", "", false, ""},
		{"oci://r/x@sha256:00", "", "", false, ""},
		{"pvc://ecg-data", "ecg-data", "", true, ""},
		{"pvc://ecg-data/", "ecg-data", "", true, ""},
		{"pvc://ecg.data/mitdb/v2/", "ecg.data", "mitdb/v2", true, ""},
		{"pvc:///mitdb", "", "", true, "names no claim"},
		{"pvc://ECG/mitdb", "", "", true, "not a DNS-1123 subdomain"},
		{"pvc://-ecg/mitdb", "", "", true, "not a DNS-1123 subdomain"},
		{"pvc://" + strings.Repeat("a", 254), "", "", true, "not a DNS-1123 subdomain"},
		{"pvc://ecg//mitdb", "", "", true, "not a clean relative path"},
		{"pvc://ecg/./mitdb", "", "", true, "not a clean relative path"},
		{"pvc://ecg/.", "", "", true, "not a clean relative path"},
		{"pvc://ecg/..", "", "", true, "not a clean relative path"},
		{"pvc://ecg/../x", "", "", true, "not a clean relative path"},
		{"pvc://ecg/a/../../x", "", "", true, "not a clean relative path"},
	} {
		claim, sub, ok, err := Source{Path: tc.in}.Claim()
		if claim != tc.claim || sub != tc.sub || ok != tc.ok || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Claim(%q) = %q, %q, %v, %v; want %q, %q, %v, %q", tc.in, claim, sub, ok, err, tc.claim, tc.sub, tc.ok, tc.err)
		}
	}
}

// FuzzClaim: a claim source either fails or gives a valid claim name and a
// clean relative PATH that stays inside the claim.
func FuzzClaim(f *testing.F) {
	for _, s := range []string{"pvc://ecg/mitdb", "pvc://a.b/c/d/", "pvc://x/../y", "pvc://", "/data"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		claim, sub, ok, err := Source{Path: p}.Claim()
		if !ok || err != nil {
			return
		}
		if !claimName.MatchString(claim) || len(claim) > 253 {
			t.Errorf("%q: claim %q", p, claim)
		}
		if sub != "" && (path.Clean(sub) != sub || path.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, "../")) {
			t.Errorf("%q: path %q escapes or is not clean", p, sub)
		}
	})
}
