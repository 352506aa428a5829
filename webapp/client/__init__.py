"""The ``taskboard`` command: send files to a Taskboard server and follow them in a terminal.

It speaks to the server only over HTTP and Socket.IO with a personal API token, and imports
nothing of the server (``webapp/__init__.py`` imports nothing at module level), so it runs on
any machine with the project installed, next to a server or far from one.
"""
