package gateway

import (
	"slices"
	"testing"

	"github.com/racgate/racgate/protocols/vnc"
)

func TestVNCOptions(t *testing.T) {
	cfg, opts, err := vncOptions(Settings{"hostname": "h", "password": "pw", "username": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "pw" || cfg.Username != "u" || cfg.QualityLevel != -1 || cfg.CompressLevel != -1 ||
		cfg.SecurityTypes != nil || cfg.TLSConfig != nil || cfg.Encodings != nil || opts.JPEGQuality != 0 || opts.Passthrough {
		t.Fatalf("defaults: %+v %+v", cfg, opts)
	}

	cfg, opts, err = vncOptions(Settings{"hostname": "h", "security": "vencrypt", "ignore-cert": "true",
		"encodings": "ZRLE ultra copyrect raw", "quality": "5", "compress-level": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.SecurityTypes, []uint8{vnc.SecurityVeNCrypt}) || cfg.TLSConfig == nil ||
		!cfg.TLSConfig.InsecureSkipVerify || cfg.TLSConfig.ServerName != "h" {
		t.Fatalf("security: %+v", cfg)
	}
	if !slices.Equal(cfg.Encodings, []int32{vnc.EncodingZRLE, vnc.EncodingCopyRect, vnc.EncodingRaw}) {
		t.Fatalf("encodings %v", cfg.Encodings)
	}
	if cfg.QualityLevel != 5 || opts.JPEGQuality != 60 || !opts.Passthrough || cfg.CompressLevel != 3 || opts.ZlibLevel != 3 {
		t.Fatalf("quality: %+v %+v", cfg, opts)
	}
	for _, tc := range []struct {
		sec  string
		want []uint8
	}{{"none", []uint8{vnc.SecurityNone}}, {"vnc", []uint8{vnc.SecurityVNCAuth}}} {
		cfg, _, _ := vncOptions(Settings{"security": tc.sec})
		if !slices.Equal(cfg.SecurityTypes, tc.want) {
			t.Errorf("security %s: %v", tc.sec, cfg.SecurityTypes)
		}
	}
	for _, tc := range []struct {
		sec     string
		subtype uint32
		x509    bool
	}{
		{"tlsnone", vnc.VeNCryptTLSNone, false}, {"tlsvnc", vnc.VeNCryptTLSVnc, false},
		{"tlsplain", vnc.VeNCryptTLSPlain, false}, {"x509none", vnc.VeNCryptX509None, true},
		{"x509vnc", vnc.VeNCryptX509Vnc, true}, {"x509plain", vnc.VeNCryptX509Plain, true},
	} {
		cfg, _, err := vncOptions(Settings{"hostname": "h", "security": tc.sec})
		if err != nil || !slices.Equal(cfg.SecurityTypes, []uint8{vnc.SecurityVeNCrypt}) ||
			!slices.Equal(cfg.VeNCryptSubtypes, []uint32{tc.subtype}) || (cfg.TLSConfig != nil) != tc.x509 {
			t.Errorf("security %s: %v %v %v tls=%v", tc.sec, err, cfg.SecurityTypes, cfg.VeNCryptSubtypes, cfg.TLSConfig != nil)
		}
	}
	for _, bad := range []Settings{{"security": "nla"}, {"encodings": "h264"}, {"encodings": "ultra"},
		{"quality": "10"}, {"compress-level": "x"}} {
		if _, _, err := vncOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
