"""Who may ask: tokens, their scope of enterprises, and (later) request limits."""
