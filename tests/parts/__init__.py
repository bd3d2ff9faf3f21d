"""Partial references for tests only: the reference cut down to parts 2A, 2B and 2C."""
