#!/usr/bin/env bash
# Starts a throwaway X desktop for the example config's "Demo desktop" endpoint: TigerVNC Xvnc
# on 127.0.0.1:5901 (no password, loopback only) with an xterm. Ctrl-C stops both.
set -euo pipefail
port=${PORT:-5901}
display=${DEMO_DISPLAY:-:$((port - 5900))}
for bin in Xvnc xterm; do
  command -v "$bin" >/dev/null || { echo "demo-desktop: $bin not found (apt-get install tigervnc-standalone-server xterm)" >&2; exit 1; }
done
Xvnc "$display" -rfbport "$port" -localhost -interface 127.0.0.1 -SecurityTypes None \
  -geometry 1280x800 -depth 24 -nolisten tcp -AlwaysShared &
xvnc=$!
trap 'kill "$xvnc" 2>/dev/null' EXIT INT TERM
sleep 1
DISPLAY=$display xterm -geometry 100x30+40+40 &
echo "demo desktop on $display, VNC at 127.0.0.1:$port (Ctrl-C to stop)"
wait "$xvnc"
