"""The ASGI driver: FastAPI routes and the WebSocket loop around the sans-I/O core."""
