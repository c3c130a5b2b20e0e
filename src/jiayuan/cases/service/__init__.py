"""Use cases of the cases domain, one module per group.

`reporting` (上报: a report, a video patrol's finding, the gate alarms of a transaction; the dispatch to
whoever is on duty), `workflow` (the case loop: actions, merge, escalation of what fell due, shift-start
reminders, a community's time limits, whom a case may be dispatched to), `reads` (the board, counts per
state, one case, a case's snapshot), `uploads` (photos and voice notes: keep, show, drop those never
given), `sharing` (a case shared with police or property for a purpose), `open311` (the Open311
GeoReport v2 services and requests), `stats` (statistics of a period or ISO week) and `intake` (a batch
of device events handed to the access domain, every alarm it raised opening its case).

The domain's other modules are helpers without a database, as in the other domains: `deadlines` (the
default time limits and what is due when), `attachments` (what an upload may be, a photo made safe) and
`stats_book` (the weekly report as a workbook).
"""
