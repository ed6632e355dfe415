"""Photo and signature evidence: metadata, resumable verified uploads, immutable originals."""
