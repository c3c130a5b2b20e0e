"""Use cases of the access domain, one module per group.

`gate_events` (device events at the gates, device offline), `gate_checks` (扫码验码), `passes`
(e-passes, revocations, isolations, what readers need offline), `visitors` (visitor passes), `vehicles`
(plate reads, presence, watch list), `plate_reviews` (待辨认车牌: plates a person reads from the
snapshot), `flow` (5-minute counters, tailgating), `alarms` (raise, clear, list) and `reports` (gates,
flow, daily summary, the 今日 page).
"""
