"""Message buses: fan-out of room events and presence, behind :class:`Bus`."""
