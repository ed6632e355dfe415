"""The offline sync protocol's server side: push, pull and the change feed."""
