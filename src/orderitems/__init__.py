"""orderitems: a self-hosted, stateful server for the Mews Connector API order-items operations."""

__version__ = "0.1.0"
