package engine

import "testing"

func TestFilter(t *testing.T) {
	for _, dropErrors := range []bool{false, true} {
		fl := NewFilter(dropErrors, 2)
		var sink BaseSlave
		var m Master
		if err := Chain(&m, fl, &sink); err != nil {
			t.Fatal(err)
		}
		sent := 0
		for ch := range 4 {
			for _, code := range []uint8{0, 1} {
				f, _ := m.ReqFrame(10, true)
				f.SetPayload(10)
				f.SetChannel(uint8(ch))
				f.SetError(code)
				m.SendFrame(f)
				f.Release()
				sent++
			}
		}
		want := uint64(2) // channel 2, both error codes
		if dropErrors {
			want = 1
		}
		if sink.FrameCount() != want || fl.Dropped() != uint64(sent)-want {
			t.Fatalf("dropErrors %v: passed %d dropped %d, want %d and %d",
				dropErrors, sink.FrameCount(), fl.Dropped(), want, uint64(sent)-want)
		}
	}
}

func TestFilterAfterClose(t *testing.T) {
	fl := NewFilter(false, 0)
	var sink BaseSlave
	Connect(fl, &sink)
	f, _ := NewPool().AcceptReq(4, true)
	defer f.Release()
	fl.AcceptFrame(f)
	fl.Close()
	fl.AcceptFrame(f)
	if sink.FrameCount() != 1 || fl.Dropped() != 1 {
		t.Fatalf("passed %d dropped %d", sink.FrameCount(), fl.Dropped())
	}
}
