"""The API kernel every app shares: errors, permissions, pagination, fields, rendering,
middleware, the OpenAPI hooks, password hashing, and the health and error views."""
