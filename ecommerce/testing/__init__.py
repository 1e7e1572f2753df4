"""Test support: the suite's settings, API clients and live servers, query budgets."""
