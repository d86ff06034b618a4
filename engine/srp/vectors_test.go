package srp

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Rogue's vector file (testdata/vectors.json).
type vectorFile struct {
	HardwareTimeout int          `json:"hardware_timeout"`
	HubOffset       string       `json:"hub_offset"`
	Steps           []vectorStep `json:"steps"`
}

type vectorStep struct {
	Name    string        `json:"name"`
	Type    string        `json:"type"`
	Address string        `json:"address"`
	Size    int           `json:"size"`
	IDs     []uint32      `json:"ids"`
	Error   string        `json:"error"`
	Check   string        `json:"check"`
	Frames  []vectorFrame `json:"frames"`
}

type vectorFrame struct {
	Dir    string         `json:"dir"`
	Tap    string         `json:"tap"`
	Hex    string         `json:"hex"`
	Fields map[string]any `json:"fields"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Steps) != 40 {
		t.Fatalf("%d steps, want 40", len(v.Steps))
	}
	return v
}

func (f vectorFrame) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := hex.DecodeString(f.Hex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// num reads a field given as a JSON number or a "0x..." string.
func (f vectorFrame) num(t *testing.T, key string) uint64 {
	t.Helper()
	switch v := f.Fields[key].(type) {
	case float64:
		return uint64(v)
	case string:
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("field %s = %q", key, v)
		}
		return n
	}
	t.Fatalf("field %s missing in %v", key, f.Fields)
	return 0
}

func parseHex(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestVectorsParse: every frame Rogue made parses to its documented
// fields, and every request Rogue's host built is what AppendRequest
// builds from those fields.
func TestVectorsParse(t *testing.T) {
	v := loadVectors(t)
	frames := 0
	for _, st := range v.Steps {
		for i, f := range st.Frames {
			frames++
			b := f.bytes(t)
			if got := f.num(t, "length"); got != uint64(len(b)) {
				t.Errorf("%s frame %d: length %d, hex has %d", st.Name, i, got, len(b))
			}
			if len(b) < HeaderSize {
				if _, _, err := ParseRequest(b); err == nil {
					t.Errorf("%s frame %d: %d-byte frame parsed", st.Name, i, len(b))
				}
				continue
			}
			checkFields(t, st.Name, i, f, ParseHeader(b))
			if f.Dir == "resp" {
				checkResponse(t, st.Name, i, f, b)
				continue
			}
			checkRequest(t, st.Name, i, f, b)
		}
	}
	if frames != 76 {
		t.Fatalf("%d frames, want 76", frames)
	}
}

func checkFields(t *testing.T, step string, i int, f vectorFrame, h Header) {
	t.Helper()
	got := map[string]uint64{
		"word0": uint64(h.Word0), "version": uint64(h.VersionByte), "opcode": uint64(h.Opcode),
		"bits13_10": uint64(h.Reserved), "bits23_15": uint64(h.HighBits), "timeout": uint64(h.Timeout),
		"id": uint64(h.ID), "address": h.Address, "req_size_field": uint64(h.SizeFieldWord), "size": uint64(h.Size),
	}
	if h.IgnoreResp {
		got["ignore_mem_resp"] = 1
	} else {
		got["ignore_mem_resp"] = 0
	}
	for k, g := range got {
		if want := f.num(t, k); want != g {
			t.Errorf("%s frame %d: %s = %#x, want %#x", step, i, k, g, want)
		}
	}
	if name := f.Fields["opcode_name"]; name != nil && name != "opcode 3" && name != h.Opcode.String() && name != "non-posted "+h.Opcode.String() {
		t.Errorf("%s frame %d: opcode name %v, ours %q", step, i, name, h.Opcode)
	}
}

func checkResponse(t *testing.T, step string, i int, f vectorFrame, b []byte) {
	t.Helper()
	r, err := ParseResponse(b)
	if len(b) < HeaderSize+FooterSize {
		if err == nil {
			t.Errorf("%s frame %d: %d-byte response parsed", step, i, len(b))
		}
		return
	}
	if err != nil {
		t.Errorf("%s frame %d: %v", step, i, err)
		return
	}
	if uint64(r.Footer) != f.num(t, "footer") || uint64(len(r.Data)) != f.num(t, "data_len") {
		t.Errorf("%s frame %d: footer %#x data %d, want %#x %d", step, i, r.Footer, len(r.Data), f.num(t, "footer"), f.num(t, "data_len"))
	}
}

func checkRequest(t *testing.T, step string, i int, f vectorFrame, b []byte) {
	t.Helper()
	h, data, err := ParseRequest(b)
	if f.Tap != "" {
		// Malformed requests injected into the emulation: the ones it
		// dropped must fail to parse, the ones it answered must parse.
		dropped := strings.Contains(f.Tap, "injected") && !strings.HasPrefix(step, "emu-unaligned") && !strings.HasPrefix(step, "emu-ignore")
		if dropped != (err != nil) {
			t.Errorf("%s frame %d: parse error %v, Rogue's emulation dropped it: %v", step, i, err, dropped)
		}
		return
	}
	if err != nil {
		t.Errorf("%s frame %d: %v", step, i, err)
		return
	}
	if uint64(len(data)) != f.num(t, "data_len") {
		t.Errorf("%s frame %d: %d data bytes, want %d", step, i, len(data), f.num(t, "data_len"))
	}
	built := AppendRequest(nil, h.Opcode, h.Timeout, h.ID, h.Address, h.Size, data)
	if hex.EncodeToString(built) != f.Hex {
		t.Errorf("%s frame %d: built\n%x\nRogue\n%s", step, i, built, f.Hex)
	}
}
