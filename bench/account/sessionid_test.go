package account

import (
	"encoding/json"
	"strings"
	"testing"

	"udpstream.dev/bench/report"
)

func TestSessionIDIsAStringInJSON(t *testing.T) {
	id := report.SessionID(1<<63 + 12345) // beyond 2^53: a double would round it
	b, err := json.Marshal(SessionSummary{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"id":"8000000000003039"`) {
		t.Fatalf("id not a hex string: %s", b)
	}
	var back SessionSummary
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Fatalf("round trip: %v, %v", back.ID, err)
	}
	if err := json.Unmarshal([]byte(`{"id":12}`), &back); err == nil {
		t.Fatal("a numeric id was accepted")
	}
}
