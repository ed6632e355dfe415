"""Operating a production deployment: backups of the database and the object store, and their restore.

Run from the repository root (or ``/app`` in the image) as ``python -m deploy.backup`` and
``python -m deploy.restore``; the settings come from the same environment variables as the server.
"""
