package wire

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/racgate/racgate/internal/tone"
)

// testdata/adpcm_vectors.json holds ADPCM blocks decoded by hand from the pseudo-code in
// docs/protocol.md (§ AUDIO_FORMAT), shared with the browser's decoder.
type adpcmVector struct {
	Name     string `json:"name"`
	Channels int    `json:"channels"`
	Block    string `json:"block"`
	PCM      string `json:"pcm"`
	Error    string `json:"error"`
}

func TestADPCMVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/adpcm_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []adpcmVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		block, _ := hex.DecodeString(v.Block)
		got, err := DecodeADPCM(nil, block, v.Channels)
		if v.Error != "" {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: err = %v, want ErrMalformed", v.Name, err)
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != v.PCM {
			t.Errorf("%s: got %x, %v; want %s", v.Name, got, err, v.PCM)
		}
	}
}

// A tone survives encoding: the decoded signal has the tone's frequency and differs from
// it by little, block after block with the state carried over.
func TestADPCMRoundTrip(t *testing.T) {
	for _, ch := range []int{1, 2} {
		states := make([]ADPCMState, ch)
		var decoded []byte
		const frames = 441 // 10 ms blocks
		for i := range 100 {
			pcm := tone.Sine(440, 44100, ch, i*frames, frames, 0.6)
			block := AppendADPCM(nil, pcm, ch, states)
			want := frames
			if ch == 1 && frames%2 == 1 {
				want++ // the padding nibble decodes as a sample too
			}
			if n := ADPCMFrames(len(block), ch); n != want {
				t.Fatalf("%d channels: block of %d bytes holds %d frames, want %d", ch, len(block), n, want)
			}
			out, err := DecodeADPCM(nil, block, ch)
			if err != nil {
				t.Fatal(err)
			}
			decoded = append(decoded, out[:frames*ch*2]...)
		}
		want := tone.Sine(440, 44100, ch, 0, 100*frames, 0.6)
		if len(decoded) != len(want) {
			t.Fatalf("%d channels: decoded %d bytes, want %d", ch, len(decoded), len(want))
		}
		for c := range ch {
			got, exp := tone.Mono(decoded, ch, c), tone.Mono(want, ch, c)
			if f := tone.Frequency(got, 44100); math.Abs(f-440) > 440*0.001 {
				t.Errorf("%d channels, channel %d: %g Hz", ch, c, f)
			}
			var errPow, sigPow float64
			for i := range got[441:] { // after the first block's adaptation
				d := got[441+i] - exp[441+i]
				errPow += d * d
				sigPow += exp[441+i] * exp[441+i]
			}
			if snr := 10 * math.Log10(sigPow/errPow); snr < 25 {
				t.Errorf("%d channels, channel %d: SNR %.1f dB, want ≥ 25", ch, c, snr)
			}
		}
	}
}

func FuzzDecodeADPCM(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0xf7, 0x80}, 1)
	f.Add([]byte{0xe8, 0x03, 0x0a, 0x18, 0xfc, 0x58, 0x91, 0x04}, 2)
	f.Fuzz(func(t *testing.T, block []byte, ch int) {
		out, err := DecodeADPCM(nil, block, ch)
		if err != nil {
			return
		}
		if len(out) != ADPCMFrames(len(block), ch)*ch*2 {
			t.Fatalf("%d bytes of PCM from a %d-byte block of %d channels", len(out), len(block), ch)
		}
	})
}
