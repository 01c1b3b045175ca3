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

// refEncode is the encoder spelled out from its definition: the code whose decoding
// comes nearest to x, applied with the decoder itself.
func refEncode(s *ADPCMState, x int16) byte {
	step := adpcmStep[s.Index]
	d := int32(x) - s.Predictor
	var c byte
	if d < 0 {
		c, d = 8, -d
	}
	for bit, part := byte(4), step; bit != 0; bit, part = bit>>1, part>>1 {
		if d >= part {
			c |= bit
			d -= part
		}
	}
	s.decode(c)
	return c
}

// TestADPCMEncoderMatchesDefinition: AppendADPCM's encoder (fused with the state update,
// stereo unrolled) gives the codes of the plain definition, for noise, full-scale
// square waves (the clamps) and silence, mono and stereo, carried across blocks.
func TestADPCMEncoderMatchesDefinition(t *testing.T) {
	pcm := make([]byte, 0, 4*6000)
	seed := uint32(1)
	for i := range 6000 {
		var v int16
		switch {
		case i < 2000: // noise
			seed = seed*1664525 + 1013904223
			v = int16(seed >> 16)
		case i < 4000: // full-scale square
			v = 32767
			if i/37%2 == 0 {
				v = -32768
			}
		}
		pcm = append(pcm, byte(v), byte(uint16(v)>>8))
	}
	for _, ch := range []int{1, 2} {
		got := make([]ADPCMState, ch)
		ref := make([]ADPCMState, ch)
		for off := 0; off+4*ch*500 <= len(pcm); off += 4 * ch * 500 {
			block := pcm[off : off+4*ch*500-2*ch] // 999 frames: an odd count too
			b := AppendADPCM(nil, block, ch, got)
			var want []byte
			for c := range ch {
				want = append(want, byte(ref[c].Predictor), byte(uint16(ref[c].Predictor)>>8), byte(ref[c].Index))
			}
			n := len(block) / 2
			for i := 0; i < n; i += 2 {
				lo := refEncode(&ref[i%ch], int16(uint16(block[2*i])|uint16(block[2*i+1])<<8))
				var hi byte
				if i+1 < n {
					hi = refEncode(&ref[(i+1)%ch], int16(uint16(block[2*i+2])|uint16(block[2*i+3])<<8))
				}
				want = append(want, lo|hi<<4)
			}
			if string(b) != string(want) {
				t.Fatalf("%d channels, block at %d: codes differ from the definition", ch, off)
			}
			if got[0] != ref[0] || got[ch-1] != ref[ch-1] {
				t.Fatalf("%d channels: state %+v, want %+v", ch, got, ref)
			}
		}
	}
}

// BenchmarkAppendADPCM: 40 ms of 44.1 kHz stereo, a VNC sound packet.
func BenchmarkAppendADPCM(b *testing.B) {
	pcm := tone.Sine(440, 44100, 2, 0, 1764, 0.5)
	states := make([]ADPCMState, 2)
	out := make([]byte, 0, 4096)
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		out = AppendADPCM(out[:0], pcm, 2, states)
	}
}

// FuzzEncodeADPCM: from any state and any samples, AppendADPCM gives the codes and the
// state of the plain definition.
func FuzzEncodeADPCM(f *testing.F) {
	f.Add([]byte{1, 0x00, 0x80, 88, 0xff, 0x7f, 0, 0x80, 1, 0})
	f.Add([]byte{0, 0xff, 0x7f, 0, 0x00, 0x80, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		ch := 1 + int(data[0]%2)
		st := ADPCMState{Predictor: int32(int16(uint16(data[1]) | uint16(data[2])<<8)), Index: int32(data[3] % 89)}
		pcm := data[4:]
		got := []ADPCMState{st, {Predictor: -st.Predictor / 2, Index: 88 - st.Index}}[:ch]
		ref := append([]ADPCMState(nil), got...)
		b := AppendADPCM(nil, pcm, ch, got)
		n := len(pcm) / 2 / ch * ch
		want := 3 * ch
		for i := 0; i < n; i++ {
			c := refEncode(&ref[i%ch], int16(uint16(pcm[2*i])|uint16(pcm[2*i+1])<<8))
			at := want + i/2
			if at >= len(b) {
				t.Fatalf("block of %d bytes for %d samples", len(b), n)
			}
			if got := b[at] >> (4 * (i % 2)) & 15; got != c {
				t.Fatalf("sample %d: code %d, want %d", i, got, c)
			}
		}
		if len(b) != want+(n+1)/2 {
			t.Fatalf("block of %d bytes for %d samples", len(b), n)
		}
		for c := range ch {
			if got[c] != ref[c] {
				t.Fatalf("channel %d: state %+v, want %+v", c, got[c], ref[c])
			}
		}
	})
}
