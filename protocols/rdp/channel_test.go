package rdp

import (
	"bytes"
	"errors"
	"testing"
)

func channelPDU(total int, flags uint32, chunk []byte) []byte {
	b := putU32(nil, uint32(total))
	b = putU32(b, flags)
	return append(b, chunk...)
}

func TestStaticChannel(t *testing.T) {
	c, _ := testClient()
	var got [][]byte
	c.addChannel("cliprdr", channelOptionShowProtocol, func(d []byte) error {
		got = append(got, bytes.Clone(d))
		return nil
	})
	c.channels[0].ID = 1004
	msg := bytes.Repeat([]byte("0123456789"), 400) // 4000 bytes: three chunks
	for i, part := range [][]byte{msg[:1600], msg[1600:3200], msg[3200:]} {
		flags := uint32(0)
		if i == 0 {
			flags = channelFlagFirst
		}
		if i == 2 {
			flags = channelFlagLast
		}
		if err := c.handleChannelData(1004, channelPDU(len(msg), flags, part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.handleChannelData(1004, channelPDU(3, channelFlagFirst|channelFlagLast, []byte("abc"))); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], msg) || string(got[1]) != "abc" {
		t.Fatalf("got %d messages", len(got))
	}
	var pe *ProtocolError
	for name, p := range map[string][]byte{
		"continuation first": channelPDU(10, channelFlagLast, []byte("x")),
		"longer than total":  channelPDU(2, channelFlagFirst, []byte("xyz")),
		"compressed":         channelPDU(1, channelFlagFirst|channelFlagLast|channelPacketCompressed, []byte("x")),
		"huge":               channelPDU(maxChannelMessage+1, channelFlagFirst, nil),
	} {
		if err := c.handleChannelData(1004, p); !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Sending cuts the message into chunks with the total length and
	// FIRST/LAST flags.
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	if err := c.sendChannel(1004, msg); err != nil {
		t.Fatal(err)
	}
	out := cc.take()
	var flags []uint32
	var joined []byte
	for len(out) > 0 {
		n := int(out[2])<<8 | int(out[3])
		body := out[mcsSendDataHeaderSize:n]
		d := decoder{b: body}
		if int(d.u32()) != len(msg) {
			t.Fatal("total length")
		}
		flags = append(flags, d.u32())
		joined = append(joined, d.rest()...)
		out = out[n:]
	}
	if !bytes.Equal(joined, msg) || len(flags) != 3 || flags[0] != channelFlagFirst || flags[1] != 0 || flags[2] != channelFlagLast {
		t.Fatalf("chunks with flags %v", flags)
	}
}
