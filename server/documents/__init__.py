"""Enforcement documents (执法文书): issued from the records, numbered, immutable, verifiable by anyone holding the paper."""
