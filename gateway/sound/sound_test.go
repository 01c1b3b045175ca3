package sound

import (
	"testing"

	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render/wire"
)

// What racgate offers an RDP server, and how it reads what the server sends.
func TestRDPAudioFormats(t *testing.T) {
	tags := func(fs []rdp.AudioFormat) []uint16 {
		var out []uint16
		for _, f := range fs {
			out = append(out, f.Tag)
		}
		return out
	}
	if got := tags(RDPFormats([]wire.Codec{wire.CodecOpus, wire.CodecADPCM})); len(got) != 5 || got[0] != rdp.WaveFormatOpusXRDP || got[1] != rdp.WaveFormatOpus || got[2] != rdp.WaveFormatMP3 || got[3] != rdp.WaveFormatPCM {
		t.Errorf("with Opus: %#x", got)
	}
	if got := tags(RDPFormats([]wire.Codec{wire.CodecADPCM})); len(got) != 3 || got[0] != rdp.WaveFormatMP3 {
		t.Errorf("without Opus: %#x", got)
	}
	for _, f := range RDPFormats([]wire.Codec{wire.CodecOpus}) {
		sf, ok := rdpStreamFormat(f)
		if !ok || sf.Channels != 2 || sf.SampleRate != int(f.SamplesPerSec) {
			t.Errorf("offered %+v, read back as %+v %v", f, sf, ok)
		}
	}
	if sf, _ := rdpStreamFormat(rdp.AudioFormat{Tag: rdp.WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100}); sf.Codec != wire.CodecOpus || sf.SampleRate != 44100 {
		t.Errorf("xrdp's Opus read as %+v: its packets play at 44.1 kHz", sf)
	}
	for _, bad := range []rdp.AudioFormat{
		{Tag: rdp.WaveFormatPCM, Channels: 2, SamplesPerSec: 44100, BitsPerSample: 8},
		{Tag: rdp.WaveFormatPCM, Channels: 6, SamplesPerSec: 44100, BitsPerSample: 16},
		{Tag: rdp.WaveFormatPCM, Channels: 2, SamplesPerSec: 4000, BitsPerSample: 16},
		{Tag: 0xa106, Channels: 2, SamplesPerSec: 44100},
	} {
		if sf, ok := rdpStreamFormat(bad); ok {
			t.Errorf("%+v accepted as %+v", bad, sf)
		}
	}
}
