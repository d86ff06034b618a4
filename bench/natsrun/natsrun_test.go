package natsrun

import (
	"encoding/json"
	"strings"
	"testing"

	"udpstream.dev/engine/natsjs"
)

// WithPublish adds "publish" beside the document's own keys, and leaves
// a document alone without counters or when it is not a JSON object.
func TestWithPublish(t *testing.T) {
	doc := map[string]int{"end": 1}
	s := &natsjs.PublisherStats{Frames: 7, Acked: 7}
	b, err := json.Marshal(WithPublish(doc, s))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		End     int                   `json:"end"`
		Publish natsjs.PublisherStats `json:"publish"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.End != 1 || back.Publish.Frames != 7 || back.Publish.Acked != 7 {
		t.Fatalf("%s: %v", b, err)
	}
	if got := WithPublish(doc, nil); got.(map[string]int)["end"] != 1 {
		t.Fatalf("nil counters changed the document: %v", got)
	}
	if got := WithPublish([]int{1}, s); len(got.([]int)) != 1 {
		t.Fatalf("an array changed: %v", got)
	}
}

func TestFormatLines(t *testing.T) {
	c := FormatConsume(natsjs.ReaderStats{Frames: 3, Bytes: 12, Messages: 1, Gaps: 2})
	if !strings.HasPrefix(c, "jetstream read 3 frames (12 bytes) in 1 messages") || !strings.Contains(c, "missing by sequence 2,") {
		t.Fatal(c)
	}
	p := FormatPublish(natsjs.PublisherStats{Frames: 5, Acked: 4})
	if !strings.HasPrefix(p, "publish  5 frames") || !strings.Contains(p, "acknowledged 4 in") {
		t.Fatal(p)
	}
}
