package results

import (
	"context"
	"strings"
	"testing"
)

func TestFinishedFromEnvWithoutDatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	if got, err := FinishedFromEnv(context.Background(), "e"); got != nil || err != nil {
		t.Errorf("FinishedFromEnv without DATABASE_URL = %v, %v; want nil, nil (not asked)", got, err)
	}
	t.Setenv("DATABASE_URL", "postgres://a:secret@[::1")
	_, err := FinishedFromEnv(context.Background(), "e")
	if err == nil || !strings.HasPrefix(err.Error(), "reading finished trials from DATABASE_URL") || strings.Contains(err.Error(), "secret") {
		t.Errorf("FinishedFromEnv with a bad DATABASE_URL: error = %v, want one naming DATABASE_URL without the password", err)
	}
}
