"""The append-only audit log. Imports no other app of this project."""
