"""Testing a client of the order-items API against the real server (docs: README "Testing your
client"): the pytest plugin (``orderitems.testing.plugin``, loaded by its ``pytest11`` entry
point), the in-process ``transport()``, and the handle both give the test (``Sandbox``).
Importing this package never imports pytest.
"""

from orderitems.testing.handle import TOKENS, LoggedCall, Sandbox, TokenPair
from orderitems.testing.inprocess import InProcessTransport, transport
from orderitems.testing.server import DemoServer
from orderitems.testing.snapshot import DemoCopy, make_pristine

__all__ = [
    "TOKENS",
    "DemoCopy",
    "DemoServer",
    "InProcessTransport",
    "LoggedCall",
    "Sandbox",
    "TokenPair",
    "make_pristine",
    "transport",
]
