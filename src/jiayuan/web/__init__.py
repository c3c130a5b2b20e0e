"""The ASGI application: pages for each face, the JSON API, WebSocket updates."""
