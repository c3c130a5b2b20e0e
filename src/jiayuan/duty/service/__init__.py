"""Use cases of the duty domain, one module per group.

`shifts` (add, change, call off, swap, sign in and out, list), `templates` (weekly templates, holidays,
producing a period's shifts), `on_duty` (who is on duty now, the grids nobody covers, the dispatch and
escalation-chain lookups `cases` makes), `people` (the communities someone works with, who may stand duty)
and `common` (what they share).

Times a person types without an offset are Beijing time; shifts are stored in UTC and run from their
start (inclusive) to their end (exclusive). Every change is an audit row in the caller's transaction and
a `duty.changed` event after the commit.
"""
