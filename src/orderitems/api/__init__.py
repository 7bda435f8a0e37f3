"""The HTTP face: routes, the wire format, and the one error-to-status map."""
