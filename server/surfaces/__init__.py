"""Surfaces of the server besides REST (``api/``): ``/yjs/``, the event stream, the web page."""
