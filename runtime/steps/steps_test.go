package steps

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"parak8s.dev/parak8s/runtime/bundle"
	"parak8s.dev/parak8s/runtime/dataset"
	"parak8s.dev/parak8s/runtime/step"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"ok", nil, step.ExitOK},
		{"failure", errors.New("boom"), step.ExitFailure},
		{"usage", Usage(errors.New("--out is required")), step.ExitUsage},
		{"wrapped usage", fmt.Errorf("reading: %w", Usage(errors.New("bad --set"))), step.ExitUsage},
		{"mismatch", fmt.Errorf("%w: trial a, not b", step.ErrMismatch), step.ExitConfig},
		{"source mismatch", sourceMismatch{fmt.Errorf("%w: digest", dataset.ErrSource)}, step.ExitConfig},
		{"transient", TransientError{errors.New("connection refused")}, step.ExitTransient},
		{"wrapped transient", fmt.Errorf("tracking: %w", TransientError{errors.New("timeout")}), step.ExitTransient},
		// a mismatch found while retrying is still a config problem
		{"transient mismatch", TransientError{step.ErrMismatch}, step.ExitConfig},
		{"database down", dbError(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), step.ExitTransient},
		{"database refused the row", dbError(errors.New("duplicate key")), step.ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestRegistryUnreachable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&transport.Error{StatusCode: 503}, true},
		{&transport.Error{StatusCode: 429}, true},
		{&transport.Error{StatusCode: 401}, false},
		{fmt.Errorf("pushing: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{errors.New("manifest invalid"), false},
	}
	for _, tt := range tests {
		if got := registryUnreachable(tt.err); got != tt.want {
			t.Errorf("registryUnreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestSelectionWeights checks when evaluate scores a refit model with the
// selection run's weights: only on the val split the refit run trained on.
func TestSelectionWeights(t *testing.T) {
	refit := bundle.Manifest{DataKey: "k1", Refit: &bundle.Refit{Epochs: 3}}
	plain := bundle.Manifest{DataKey: "k1"}
	tests := []struct {
		name            string
		man             bundle.Manifest
		split           string
		named, prepared bool
		dataKey         string
		want            bool
	}{
		{"refit, its own prepared set, val", refit, "val", false, true, "k1", true},
		{"refit, its own prepared set, --split val", refit, "val", true, true, "k1", true},
		{"refit, another prepared set", refit, "val", false, true, "k2", false},
		{"refit, raw data, --split val", refit, "val", true, false, "", true},
		{"refit, raw data, every record", refit, "val", false, false, "", false},
		{"refit, test split", refit, "test", true, true, "k1", false},
		{"not refit", plain, "val", true, true, "k1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectionWeights(tt.man, tt.split, tt.named, tt.prepared, tt.dataKey); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
