package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/bench/guac"
)

// maxTunnelMessage is where a message to the browser is cut between instructions: the
// Guacamole web application's tunnel sends what its reader has buffered, at most 8192
// characters, or one larger instruction whole.
const maxTunnelMessage = 8192

// tunnelGuacd is the Guacamole WebSocket tunnel (subprotocol "guacamole"): it makes the
// connection with guacd itself (the handshake, as the web application does from its
// configuration), tells the browser the tunnel's UUID in an internal instruction (opcode
// ""), then relays whole instructions both ways, answering the browser's internal pings
// itself.
func tunnelGuacd(w http.ResponseWriter, r *http.Request, p Peers) {
	if p.Guacd == "" {
		http.Error(w, "no guacd", http.StatusNotFound)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"guacamole"}})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(guac.MaxInstruction)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	gc, err := guac.Dial(ctx, p.Guacd, p.Guac)
	if err != nil {
		if p.Log != nil {
			p.Log.Warn("browser: guacd handshake", "err", err)
		}
		ws.Close(websocket.StatusInternalError, "guacd: "+err.Error())
		return
	}
	defer gc.Close()
	id := gc.ID
	if id == "" {
		id = "bench"
	}
	if err := ws.Write(ctx, websocket.MessageText, guac.AppendRaw(nil, [][]byte{nil, []byte(id)})); err != nil {
		return
	}
	done := make(chan error, 2)
	go func() { done <- fromGuacd(ctx, ws, gc) }()
	go func() { done <- toGuacd(ctx, ws, gc) }()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) && p.Log != nil {
		p.Log.Debug("browser: guacd tunnel ended", "err", err)
	}
}

func fromGuacd(ctx context.Context, ws *websocket.Conn, gc *guac.Conn) error {
	var msg []byte
	for {
		el, err := gc.ReadRaw()
		if err != nil {
			return err
		}
		prev := len(msg)
		msg = guac.AppendRaw(msg, el)
		if prev > 0 && len(msg) > maxTunnelMessage { // the new one goes in a message of its own
			if err := ws.Write(ctx, websocket.MessageText, msg[:prev]); err != nil {
				return err
			}
			msg = msg[:copy(msg, msg[prev:])]
		}
		if gc.Buffered() > 0 && len(msg) < maxTunnelMessage {
			continue
		}
		if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
		msg = msg[:0]
	}
}

func toGuacd(ctx context.Context, ws *websocket.Conn, gc *guac.Conn) error {
	var out []byte
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		out = out[:0]
		rd := guac.NewReader(bytes.NewReader(msg))
		for {
			el, err := rd.ReadRaw()
			if errors.Is(err, io.EOF) {
				break // the message's end
			}
			if err != nil {
				return fmt.Errorf("from the browser: %w", err)
			}
			if len(el[0]) == 0 { // internal: a ping comes back as it is
				if err := ws.Write(ctx, websocket.MessageText, guac.AppendRaw(nil, el)); err != nil {
					return err
				}
				continue
			}
			out = guac.AppendRaw(out, el)
		}
		if len(out) > 0 {
			if err := gc.WriteRaw(out); err != nil {
				return err
			}
		}
	}
}
