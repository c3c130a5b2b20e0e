"""Dependency-free building blocks: ids, clock, errors, principal, paging, crypto."""
