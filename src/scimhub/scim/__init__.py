"""The SCIM 2.0 protocol core: pure functions over plain JSON dicts, no I/O."""
