"""Domain events: published after commit, fanned out in process and to WebSocket clients."""
