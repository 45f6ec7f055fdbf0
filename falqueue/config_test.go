package falqueue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestKeyFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"FAL_KEY", map[string]string{"FAL_KEY": "id:secret", "FAL_KEY_ID": "x", "FAL_KEY_SECRET": "y"}, "id:secret"},
		{"id and secret", map[string]string{"FAL_KEY_ID": "x", "FAL_KEY_SECRET": "y"}, "x:y"},
		{"id only", map[string]string{"FAL_KEY_ID": "x"}, ""},
		{"blank FAL_KEY falls through", map[string]string{"FAL_KEY": "  ", "FAL_KEY_ID": "x", "FAL_KEY_SECRET": "y"}, "x:y"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KeyFromEnv(func(k string) string { return tt.env[k] })
			if got.reveal() != tt.want {
				t.Errorf("KeyFromEnv = %q, want %q", got.reveal(), tt.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const canary = "CANARY-0b7e2c1a-4f11:5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
	cfg := Config{Key: Secret(canary), QueueURL: "http://127.0.0.1:1"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg, "key", cfg.Key)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "key", cfg.Key)
	js, _ := json.Marshal(cfg)
	out := strings.Join([]string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v %#v %s %q %x %v", cfg, cfg, cfg.Key, cfg.Key, cfg.Key, c),
		string(js), logs.String(),
	}, "\n")
	for _, part := range []string{canary, "0b7e2c1a-4f11", "5e5e5e5e5e5e5e5e"} {
		if strings.Contains(out, part) {
			t.Fatalf("secret part %q printed:\n%s", part, out)
		}
	}
}

func TestNewRejectsBadBaseURLs(t *testing.T) {
	for _, u := range []string{"queue.fal.run", "ftp://queue.fal.run", "https://", "https://q.test/?a=1", "https://u:p@q.test", "://"} {
		if _, err := New(Config{QueueURL: u}); err == nil {
			t.Errorf("New accepted queue URL %q", u)
		}
		if _, err := New(Config{RestURL: u}); err == nil {
			t.Errorf("New accepted REST URL %q", u)
		}
	}
}
