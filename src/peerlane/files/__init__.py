"""File transfer through the server: tus uploads, share links and room files.

``records`` holds the plain records, ``store`` the :class:`~.store.FileStore` interface
for the bytes (``local`` is the embedded back-end), ``names`` and ``ranges`` the
sans-I/O rules for names, content types and byte ranges, and ``uploads`` /
``downloads`` the drivers that move bytes between HTTP and the store, ``policy`` the
upload policy (quotas, allowances, budgets, share bounds) without I/O. The HTTP routes
are in :mod:`peerlane.server.tus_api`, :mod:`~peerlane.server.shares_api` and
:mod:`~peerlane.server.room_files_api`.
"""
