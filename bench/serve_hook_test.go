package bench

import (
	"testing"

	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// TestServeOnServer checks that OnServer gets the server Serve listens
// with, before Ready, and that its Stats stay readable after Serve ends.
func TestServeOnServer(t *testing.T) {
	var got *udp.Server
	readyBefore := false
	port, done, stop := startServeCancel(t, ServeConfig{Transport: udp.TransportMmsg, OnServer: func(s *udp.Server) {
		if got != nil {
			t.Error("OnServer called twice")
		}
		got = s
	}})
	readyBefore = got != nil
	stop()
	<-done
	if !readyBefore || got == nil || got.Port() != port {
		t.Fatalf("OnServer before Ready %v, server %v (port %d)", readyBefore, got, port)
	}
	if st := got.Stats(); st.Transport != udp.TransportMmsg || st.Batch != report.DefaultBatch {
		t.Fatalf("stats after Serve: %+v", st)
	}
}
