"""Notifications: an inbox per user (synced to the phone) and delivery through one outbound webhook."""
