package render

// Demand lets a protocol client that asks for updates (VNC's FramebufferUpdateRequest)
// ask only while some viewer could send a frame. While every browser is behind (waiting
// for ACKs), the remote merges what changes instead of racgate decoding updates that no
// viewer can be sent yet; a slow browser then costs about as much decoding as it gets
// frames.

// WhenWanted calls f once some viewer could send a frame: at once, on the caller's
// goroutine, if one can now (fewer than MaxInFlight frames unacknowledged) or the
// display has no viewers or is closed; otherwise later, on the goroutine of the ACK,
// NewViewer, viewer exit or Close that makes it so. f must not block. Each call's f runs
// exactly once.
func (d *Display) WhenWanted(f func()) {
	d.mu.Lock()
	// Before the scan: paired with Ack, which stores acked, then reads this.
	d.demandWaiting.Store(true)
	if d.closed || len(d.viewers) == 0 || d.anyReadyLocked() {
		if len(d.demand) == 0 {
			d.demandWaiting.Store(false)
		}
		d.mu.Unlock()
		f()
		return
	}
	d.demand = append(d.demand, f)
	d.mu.Unlock()
}

// anyReadyLocked reports whether a viewer has room for another frame.
func (d *Display) anyReadyLocked() bool {
	for _, v := range d.viewers {
		if int(v.sent.Load()-v.acked.Load()) < d.opts.MaxInFlight {
			return true
		}
	}
	return false
}

// fireDemand runs the waiting WhenWanted callbacks, if any: something just made a
// viewer able to send.
func (d *Display) fireDemand() {
	if !d.demandWaiting.Load() {
		return
	}
	d.mu.Lock()
	fs := d.demand
	d.demand = nil
	d.demandWaiting.Store(false)
	d.mu.Unlock()
	for _, f := range fs {
		f()
	}
}
