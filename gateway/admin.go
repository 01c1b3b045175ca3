package gateway

import "net/http"

func (s *Server) adminRoutes(m *http.ServeMux) {}
