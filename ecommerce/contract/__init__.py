"""Suites that test the whole HTTP contract across every app: authorization matrix, query
budgets, abuse limits, stores failing, security, the QUICKSTART and schema fuzzing."""
