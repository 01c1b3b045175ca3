package gateway

import (
	"context"
	"log/slog"
)

func (s *Server) dialRemote(ctx context.Context, ep *Endpoint, set Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
	return nil, nil, errNotImplemented
}
