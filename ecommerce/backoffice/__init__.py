"""The back office's building blocks, shared by every app's admin.py (read-only admins, service
errors as messages, admin pages over MongoDB documents)."""
