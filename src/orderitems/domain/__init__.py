"""Pure rules of the order-items API: value types, queries and named errors. No I/O here.

The value types are msgspec Structs: they validate and encode without I/O, and their
field names map to the API's PascalCase through ``rename="pascal"``.
"""
