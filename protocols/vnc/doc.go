// Package vnc is an RFB (VNC) client in pure Go: RFC 6143 plus the community
// extensions of rfbproto (https://github.com/rfbproto/rfbproto). It decodes
// what the server sends into a render.Sink and sends keyboard, pointer,
// clipboard and resize requests.
//
// Supported: RFB 3.3, 3.7 and 3.8 (later versions are spoken as 3.8);
// security None, VNC authentication and VeNCrypt (Plain, X509None, X509Vnc,
// X509Plain, and the anonymous TLS subtypes TLSNone, TLSVnc, TLSPlain through
// package anontls, since crypto/tls lacks anonymous Diffie-Hellman; anonymous
// TLS does not authenticate the server, so X509 subtypes are preferred and
// Config.NoAnonymousTLS refuses it); encodings Raw, CopyRect, RRE, Hextile, Zlib, ZRLE and
// Tight (JPEG rectangles go to Sink.DrawJPEG undecoded); pseudo-encodings
// Cursor, DesktopSize, ExtendedDesktopSize (SetDesktopSize), LastRect,
// DesktopName, Fence, ContinuousUpdates, extended clipboard (UTF-8) and QEMU
// extended key events.
//
// Flow control: with Config.WhenWanted the client asks for each next update only when
// told that one is wanted (a browser can be sent a frame), and keeps continuous updates
// off, so the server merges changes while every viewer is behind.
//
// The client asks for 32-bit little-endian pixels with red, green and blue in
// the low three bytes, the render framebuffer layout, so Raw data is copied
// without conversion. Everything the server sends is checked before use: a
// malformed message ends the session with a *ProtocolError, and every length
// read off the wire is bounded (by the framebuffer's size or a fixed limit)
// before anything is allocated for it; buffers grow only with data received.
//
// Server behaviour worth knowing (TigerVNC Xvnc 1.12, x11vnc 0.9.16):
//   - Xvnc draws the pointer into the framebuffer until the client moves it
//     (a PointerEvent at a new position); after that the pointer arrives as a
//     Cursor rectangle. Browsers send pointer events as soon as the mouse moves.
//   - Xvnc announces QEMU extended key events but uses the scancodes only when
//     started with -RawKeyboard; otherwise it maps the keysyms.
//   - Xvnc has no Zlib encoder (it sends Raw instead) and sends Fence requests
//     that must be answered, which Run does.
//   - x11vnc announces ExtendedDesktopSize but refuses SetDesktopSize.
package vnc
