"""The three stores as the project sees them: the MongoDB client, the stores' health, and
creating the SQL databases when a server allows it."""
