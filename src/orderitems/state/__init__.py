"""State every server process shares: the limiter's windows and the sandbox's faults, clock and
request log, in Redis or SQL (``shared.open_state``), or one process's memory for tests."""
