//go:build cgo && linux

package opus

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef void *(*dec_create_fn)(int32_t, int, int *);
typedef int (*dec_fn)(void *, const unsigned char *, int32_t, int16_t *, int, int);
typedef void *(*enc_create_fn)(int32_t, int, int, int *);
typedef int32_t (*enc_fn)(void *, const int16_t *, int, unsigned char *, int32_t);
typedef void (*destroy_fn)(void *);

static void *lib;
static dec_create_fn dec_create;
static dec_fn dec;
static destroy_fn dec_destroy;
static enc_create_fn enc_create;
static enc_fn enc;
static destroy_fn enc_destroy;

static int opus_load(void) {
	if (lib) return 0;
	void *h = dlopen("libopus.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) return -1;
	dec_create = (dec_create_fn)dlsym(h, "opus_decoder_create");
	dec = (dec_fn)dlsym(h, "opus_decode");
	dec_destroy = (destroy_fn)dlsym(h, "opus_decoder_destroy");
	enc_create = (enc_create_fn)dlsym(h, "opus_encoder_create");
	enc = (enc_fn)dlsym(h, "opus_encode");
	enc_destroy = (destroy_fn)dlsym(h, "opus_encoder_destroy");
	if (!dec_create || !dec || !dec_destroy || !enc_create || !enc || !enc_destroy) {
		dlclose(h);
		return -1;
	}
	lib = h;
	return 0;
}

static void *opus_dec_new(int32_t rate, int channels, int *err) { return dec_create(rate, channels, err); }
static int opus_dec(void *d, const unsigned char *p, int32_t n, int16_t *pcm, int frames) { return dec(d, p, n, pcm, frames, 0); }
static void opus_dec_free(void *d) { dec_destroy(d); }
// OPUS_APPLICATION_AUDIO is 2049.
static void *opus_enc_new(int32_t rate, int channels, int *err) { return enc_create(rate, channels, 2049, err); }
static int32_t opus_enc(void *e, const int16_t *pcm, int frames, unsigned char *out, int32_t max) { return enc(e, pcm, frames, out, max); }
static void opus_enc_free(void *e) { enc_destroy(e); }
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
)

var (
	loadOnce sync.Once
	loadErr  error
)

func load() error {
	loadOnce.Do(func() {
		if C.opus_load() != 0 {
			loadErr = ErrUnavailable
		}
	})
	return loadErr
}

// Decoder decodes one stream's packets to S16LE PCM, channels interleaved. Not safe for
// concurrent use; Close frees it.
type Decoder struct {
	d        unsafe.Pointer
	channels int
	pcm      *C.int16_t // MaxFrameSamples × channels, C memory
}

// NewDecoder returns a decoder for rate (8000, 12000, 16000, 24000 or 48000) and 1 or 2
// channels.
func NewDecoder(rate, channels int) (*Decoder, error) {
	if err := load(); err != nil {
		return nil, err
	}
	if channels < 1 || channels > 2 {
		return nil, fmt.Errorf("opus: %d channels", channels)
	}
	var e C.int
	d := C.opus_dec_new(C.int32_t(rate), C.int(channels), &e)
	if d == nil || e != 0 {
		return nil, fmt.Errorf("opus: decoder for %d Hz, %d channels: error %d", rate, channels, int(e))
	}
	pcm := (*C.int16_t)(C.malloc(C.size_t(MaxFrameSamples * channels * 2)))
	return &Decoder{d: d, channels: channels, pcm: pcm}, nil
}

// Decode appends the PCM of one packet to dst.
func (d *Decoder) Decode(dst, packet []byte) ([]byte, error) {
	if d.d == nil {
		return dst, fmt.Errorf("opus: decoder closed")
	}
	if len(packet) == 0 {
		return dst, fmt.Errorf("opus: empty packet")
	}
	p := C.CBytes(packet)
	defer C.free(p)
	n := C.opus_dec(d.d, (*C.uchar)(p), C.int32_t(len(packet)), d.pcm, MaxFrameSamples)
	if n < 0 {
		return dst, fmt.Errorf("opus: decode error %d", int(n))
	}
	samples := unsafe.Slice((*int16)(unsafe.Pointer(d.pcm)), int(n)*d.channels)
	for _, v := range samples {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst, nil
}

// Close frees the decoder; it may be called more than once.
func (d *Decoder) Close() {
	if d.d != nil {
		C.opus_dec_free(d.d)
		C.free(unsafe.Pointer(d.pcm))
		d.d, d.pcm = nil, nil
	}
}

// Encoder encodes S16LE PCM (for tests: packets like xrdp's). Not safe for concurrent
// use; Close frees it.
type Encoder struct {
	e        unsafe.Pointer
	channels int
}

// NewEncoder returns an encoder (application "audio", libopus's default bitrate).
func NewEncoder(rate, channels int) (*Encoder, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var e C.int
	enc := C.opus_enc_new(C.int32_t(rate), C.int(channels), &e)
	if enc == nil || e != 0 {
		return nil, fmt.Errorf("opus: encoder for %d Hz, %d channels: error %d", rate, channels, int(e))
	}
	return &Encoder{e: enc, channels: channels}, nil
}

// Encode encodes one frame of S16LE PCM (2.5 to 60 ms of samples) into a packet.
func (e *Encoder) Encode(pcm []byte) ([]byte, error) {
	frames := len(pcm) / (2 * e.channels)
	in := (*C.int16_t)(C.CBytes(pcm))
	defer C.free(unsafe.Pointer(in))
	const maxPacket = 4000
	out := (*C.uchar)(C.malloc(maxPacket))
	defer C.free(unsafe.Pointer(out))
	n := C.opus_enc(e.e, in, C.int(frames), out, maxPacket)
	if n < 0 {
		return nil, fmt.Errorf("opus: encode error %d", int(n))
	}
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

// Close frees the encoder; it may be called more than once.
func (e *Encoder) Close() {
	if e.e != nil {
		C.opus_enc_free(e.e)
		e.e = nil
	}
}
