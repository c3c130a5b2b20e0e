"""Use cases of the accounts domain, one module per group.

`users` (create, list, find, deactivate; a person's mobile; password changes and resets, unlocks; the
principal an account acts as; who may be given work), `logins` (password logins with throttling, list
and lift lockouts), `sign_in` (residents' sign-in on /h5 by a one-time code), `sessions` (browser
sessions), `tokens` (API and device tokens) and `audit` (the audit log: `record_audit`, used by every
domain; an account's recent actions, search, export).
"""
